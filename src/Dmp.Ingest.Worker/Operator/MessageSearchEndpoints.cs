using System.Globalization;
using System.Text.Json;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Ingest.Worker.Sftp;
using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Operator;

/// <summary>
/// The operators' search beyond the listing: counts per status of a selection, the bulk replay of a selection and its
/// progress, and the senders' recent traffic. Same role and filters as <c>GET /api/messages</c>.
/// </summary>
public static class MessageSearchEndpoints
{
    /// <summary>The most messages one bulk replay takes: a larger selection is refused (narrow the filters).</summary>
    public const int MaxBulkReplay = 100_000;

    /// <summary>The body of <c>POST /api/messages/replay</c>: a JSON object of filters and <c>expectedCount</c>.</summary>
    public static readonly BodyContract ReplayBody = new(["application/json"], true, BodyContract.DefaultMaxBytes);

    /// <summary>The window of <c>GET /api/senders</c>' counts.</summary>
    public static readonly TimeSpan SendersWindow = TimeSpan.FromHours(24);

    public static void MapMessageSearch(this RouteGroupBuilder api, WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(app);
        // One registry per application: a host that registers BulkReplays as a singleton shares it (the console's pages).
        var replays = app.Services.GetService<BulkReplays>() ?? new BulkReplays();
        var stopping = app.Lifetime.ApplicationStopping;

        api.MapGet("/messages/stats", async (HttpContext http, DmpStore store, CancellationToken ct) =>
        {
            var (filter, error) = MessageFilters.FromQuery(http.Request.Query, MessageFilters.Names);
            if (filter is null)
                return Problems.BadRequest(error!);
            var stats = await store.Queries.StatsAsync(filter, ct);
            return Results.Json(new { total = stats.Total, byStatus = stats.ByStatus });
        }).WithBody(BodyContract.None);

        api.MapPost("/messages/replay", async (HttpContext http, DmpStore store, ProcessingSignal signal, ILoggerFactory logs, CancellationToken ct) =>
        {
            if (await RequestBodies.ReadJsonAsync(http.Request, ct) is not { } body)
                return Problems.BadRequest("the body is not JSON: send {\"status\": \"failed\", …, \"expectedCount\": N}");

            var (filter, error) = MessageFilters.FromJson(body, ["expectedCount"]);
            if (filter is null)
                return Problems.BadRequest(error!);
            if (!body.TryGetProperty("expectedCount", out var expectedElement) || !expectedElement.TryGetInt64(out var expected) || expected < 0)
                return Problems.BadRequest("expectedCount must be the number of messages to replay, as GET /api/messages/stats counted them (a whole number)");

            var subject = OperatorEndpoints.OperatorSubject(http.User);
            var (replay, count) = await ConfirmAndStartAsync(replays, filter, expected, subject, store, signal, logs.CreateLogger("Dmp.Operator.Replay"), stopping, ct);
            if (count != expected)
            {
                return Problems.Conflict(string.Create(CultureInfo.InvariantCulture,
                    $"the selection holds {count} replayable messages (failed, held, processed or ignored, with their raw bytes), not {expected}: check the selection and confirm that count"));
            }

            if (replay is null)
                return Problems.BadRequest(string.Create(CultureInfo.InvariantCulture, $"a bulk replay takes at most {MaxBulkReplay} messages; this selection holds {count}: narrow the filters"));

            var links = new { self = $"/api/replays/{replay.Id}" };
            return Results.Json(new { id = replay.Id, count = replay.Total, links }, statusCode: StatusCodes.Status202Accepted);
        }).WithBody(ReplayBody);

        api.MapGet("/replays/{id}", (string id) =>
            replays.Find(id) is { } replay ? Results.Json(replay.ToJson()) : Problems.NotFound("no bulk replay with this id in this process (they are kept in memory)"))
            .WithBody(BodyContract.None);

        api.MapGet("/senders", async (HttpContext http, DmpStore store, IOptions<MllpOptions> mllp, IOptions<SftpOptions> files, TimeProvider time, CancellationToken ct) =>
        {
            if (http.Request.Query.Count > 0)
                return Problems.BadRequest("GET /api/senders takes no parameters");
            var configured = mllp.Value.Senders.Select(s => s.Name).Concat(files.Value.Sources.Select(s => s.Name))
                .Where(n => !string.IsNullOrEmpty(n)).ToList();
            var now = time.GetUtcNow();
            var senders = await store.Queries.SendersAsync(now - SendersWindow, configured, ct);
            return Results.Json(new
            {
                since = now - SendersWindow,
                senders = senders.Select(s => new
                {
                    name = s.Name,
                    channel = s.Channel,
                    sender = s.Sender,
                    lastReceivedAt = s.LastReceivedAt,
                    total = s.ByStatus.Values.Sum(),
                    byStatus = s.ByStatus,
                    messages = "/api/messages?" + (s.Name is null ? "sender=" + Uri.EscapeDataString(s.Sender ?? "") : "sender=" + Uri.EscapeDataString(s.Name)),
                }),
            });
        }).WithBody(BodyContract.None);
    }

    /// <summary>
    /// A bulk replay as an operator confirmed it: started only when the selection still holds
    /// <paramref name="expected"/> replayable messages and no more than <see cref="MaxBulkReplay"/>; otherwise no replay and
    /// the count found (the API and the console word the refusal).
    /// </summary>
    public static async Task<(BulkReplay? Replay, long Count)> ConfirmAndStartAsync(
        BulkReplays replays, InboxFilter filter, long expected, string subject, DmpStore store, ProcessingSignal signal, ILogger logger,
        CancellationToken stopping, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var count = await store.Queries.CountReplayableAsync(filter, ct);
        if (count != expected || count > MaxBulkReplay)
            return (null, count);
        return (await StartReplayAsync(replays, filter, subject, store, signal, logger, stopping, ct), count);
    }

    /// <summary>
    /// Starts the bulk replay of the selection's replayable messages (the caller has checked the count the operator
    /// confirmed): audits it in the operator chain, then puts them back in the queue in the background, in arrival order.
    /// </summary>
    public static async Task<BulkReplay> StartReplayAsync(
        BulkReplays replays, InboxFilter filter, string subject, DmpStore store, ProcessingSignal signal, ILogger logger,
        CancellationToken stopping, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(replays);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(logger);
        var ids = await store.Queries.ReplayableIdsAsync(filter, MaxBulkReplay, ct);
        var replay = replays.Start(ids.Count);
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"bulk replay {replay.Id}: {ids.Count} messages{(ids.Count > 0 ? $", ids {ids[0]} to {ids[^1]}" : "")}; filters: {string.Join(", ", FilterNames(filter))}");
        await store.Audit.AppendAsync([new AuditRecord(
            null, AuditAgentKinds.Operator, subject, DmpClaims.Operator, AuditActions.Replay, AuditEntityTypes.InboundMessage,
            replay.Id, AuditOutcomes.Success, Detail: detail)], ct);
        logger.LogInformation(new EventId(5101, "BulkReplayStarted"), "Operator {Operator} started bulk replay {ReplayId} of {Count} messages", subject, replay.Id, ids.Count);
        _ = Task.Run(() => RunAsync(replay, ids, store, signal, logger, stopping), CancellationToken.None);
        return replay;
    }

    /// <summary>Puts each message back in the queue in arrival order, waking the processing worker as it goes.</summary>
    private static async Task RunAsync(BulkReplay replay, IReadOnlyList<long> ids, DmpStore store, ProcessingSignal signal, ILogger logger, CancellationToken stopping)
    {
        try
        {
            foreach (var (id, index) in ids.Select((id, i) => (id, i)))
            {
                if (stopping.IsCancellationRequested)
                    break;
                try
                {
                    if (await store.Processing.RequeueForReplayAsync(id, stopping))
                        replay.Requeued();
                    else
                        replay.Refused();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning("Bulk replay {ReplayId} could not requeue message {MessageId}: {Exception}", replay.Id, id, e.GetType().Name);
                    replay.Refused();
                }

                if (index % 50 == 49)
                    signal.Pulse();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            replay.Finish();
            signal.Pulse();
            logger.LogInformation(new EventId(5102, "BulkReplayFinished"), "Bulk replay {ReplayId} finished: {Done} requeued, {Failed} not", replay.Id, replay.Done, replay.Failed);
        }
    }

    // The names of the filters used, never their values (an identifier must not reach the operator chain's detail text).
    private static IEnumerable<string> FilterNames(InboxFilter f)
    {
        if (f.PatientValue is not null) yield return "patient";
        if (f.Type is not null) yield return "type=" + f.Type;
        if (f.Document is not null) yield return "document";
        if (f.Status is not null) yield return "status=" + f.Status;
        if (f.Sender is not null) yield return "sender=" + f.Sender;
        if (f.ControlId is not null) yield return "controlId";
        if (f.Since is { } s) yield return "since=" + s.ToString("O", CultureInfo.InvariantCulture);
        if (f.Until is { } u) yield return "until=" + u.ToString("O", CultureInfo.InvariantCulture);
    }
}
