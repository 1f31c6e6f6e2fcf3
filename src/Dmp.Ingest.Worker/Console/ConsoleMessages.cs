using System.Globalization;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Mapping;
using Dmp.Mapping.Hl7v2;
using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>What the message detail page shows beyond the store's row: the raw segments, the explanation, the ACK.</summary>
public sealed record MessageView(
    InboundMessageDetail Detail,
    IReadOnlyList<RawSegment>? Segments,
    string? RawUnavailable,
    IReadOnlyList<string> Explanation,
    string? Ack,
    ErrorPosition? Failing,
    MessageProducts Produced);

/// <summary>
/// The console's reads and actions on one message, through the same store calls as the operator API: the raw read is
/// audited exactly as `GET /api/messages/{id}/raw` audits it, replay is the store's requeue as `POST …/replay`.
/// </summary>
public sealed class ConsoleMessages(DmpStore store, ProcessingSignal signal, RuleSetReloader rules, ILoggerFactory logs)
{
    public async Task<MessageView?> ViewAsync(long id, System.Security.Claims.ClaimsPrincipal user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        var (detail, raw, unavailable) = await Operator.OperatorEndpoints.ReadRawAuditedAsync(store, logs, user, id, ct);
        if (detail is null)
            return null;
        var failing = RawSegments.Position(detail.Message.Error);
        var ack = await AckAsync(id, ct);
        var produced = await store.Queries.ProducedAsync(id, ct);
        if (raw is null)
            return new MessageView(detail, null, unavailable == Operator.RawUnavailable.Purged ? "purged" : "missing", [], ack, failing, produced);
        if (InboundMapper.LooksLikeXml(raw))
            return new MessageView(detail, null, "xml", Explain(raw), ack, failing, produced);
        return new MessageView(detail, RawSegments.Split(raw, failing, Hl7FieldNames.Default), null, Explain(raw), ack, failing, produced);
    }

    /// <summary>The ACK bytes the gateway sent, as text (segments on lines); null when none was recorded.</summary>
    private async Task<string?> AckAsync(long id, CancellationToken ct)
    {
        var connection = await store.Connections.OpenAsync(ct);
        await using (connection)
        {
            var bytes = await Dapper.SqlMapper.ExecuteScalarAsync<byte[]?>(connection,
                new Dapper.CommandDefinition("SELECT ack FROM inbound_message WHERE id = @Id;", new { Id = id }, cancellationToken: ct));
            return bytes is null ? null : System.Text.Encoding.Latin1.GetString(bytes).Trim('\v', '\u001c', '\r', '\n').Replace('\r', '\n');
        }
    }

    /// <summary>Requeues the message as `POST /api/messages/{id}/replay` does; false when its status forbids it.</summary>
    public async Task<bool> ReplayAsync(long id, CancellationToken ct)
    {
        var detail = await store.Queries.GetAsync(id, ct);
        if (detail is null || detail.Message.RawPurgedAt is not null)
            return false;
        if (!await store.Processing.RequeueForReplayAsync(id, ct))
            return false;
        signal.Pulse();
        return true;
    }

    /// <summary>`map --explain`'s lines for this message with the rules the gateway has loaded now (the CLI's own explanation).</summary>
    private List<string> Explain(byte[] raw)
    {
        var lines = new List<string>();
        try
        {
            foreach (var message in Cli.MapExplanation.Explain(raw, "console", rules.Current))
            {
                if (message.Type is not null)
                    lines.Add(message.Rule is null ? $"{message.Type}: no rule" : $"{message.Type}: rule {message.Rule.Id} ({message.Rule.File})");
                lines.AddRange(message.Unused);
                lines.AddRange(message.Notes);
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
        {
            lines.Add("the explanation could not be built: " + e.GetType().Name);
        }

        return lines;
    }
}
