using System.Globalization;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Inbox;
using Microsoft.AspNetCore.WebUtilities;

namespace Dmp.Ingest.Worker.Operator;

/// <summary>The operator API under `/api`: the inbox, raw messages (audited), replay. Role `operator`.</summary>
public static class OperatorEndpoints
{
    /// <summary>
    /// Audits an operator's read of a message's raw bytes, durably before the bytes are shown (the API's `/raw` and the
    /// console alike): in the chain of each dossier the message fed (so the patient sees it in their trail), else in the
    /// operator chain; and one log line naming no patient.
    /// </summary>
    public static async Task AuditRawReadAsync(DmpStore store, ILoggerFactory logs, System.Security.Claims.ClaimsPrincipal user, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(logs);
        var subject = OperatorSubject(user);
        var patients = await store.PatientLinks.PatientsFedByAsync(id, ct);
        var read = new AuditRecord(
            null, AuditAgentKinds.Operator, subject, DmpClaims.Operator, AuditActions.RawRead, AuditEntityTypes.InboundMessage,
            id.ToString(CultureInfo.InvariantCulture), AuditOutcomes.Success);
        await store.Audit.AppendAsync(patients.Count == 0 ? [read] : patients.Select(p => read with { PatientId = p }).ToList(), ct);
        logs.CreateLogger("Dmp.Audit").LogInformation(new EventId(5001, "RawMessageRead"), "Operator {Operator} read the raw bytes of inbound message {MessageId}",
            subject, id);
    }

    /// <summary>
    /// A stored message and its raw bytes for an operator to see, the read audited (<see cref="AuditRawReadAsync"/>) before
    /// the bytes are returned. Null detail: no such message; null bytes: <see cref="RawUnavailable.Purged"/> by retention,
    /// or <see cref="RawUnavailable.Missing"/> from the blob store — then nothing was read and nothing is audited.
    /// </summary>
    public static async Task<(InboundMessageDetail? Detail, byte[]? Raw, RawUnavailable Unavailable)> ReadRawAuditedAsync(
        DmpStore store, ILoggerFactory logs, System.Security.Claims.ClaimsPrincipal user, long id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var detail = await store.Queries.GetAsync(id, ct);
        if (detail is null)
            return (null, null, RawUnavailable.None);
        if (detail.Message.RawPurgedAt is not null)
            return (detail, null, RawUnavailable.Purged);
        var raw = await store.Queries.GetRawAsync(id, ct);
        if (raw is null)
            return (detail, null, RawUnavailable.Missing);
        await AuditRawReadAsync(store, logs, user, id, ct);
        return (detail, raw, RawUnavailable.None);
    }

    /// <summary>Who an operator is in the audit trail and the logs: the token's subject, else "operator".</summary>
    public static string OperatorSubject(System.Security.Claims.ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.FindFirst(DmpClaims.Subject)?.Value ?? "operator";
    }

    public static void MapOperatorApi(this WebApplication app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(DmpClaims.OperatorPolicy);
        api.AddEndpointFilter(RequestBodies.Filter((status, detail) => Problems.Problem(status, ReasonPhrases.GetReasonPhrase(status), detail)));

        api.MapGet("/messages", async (HttpContext http, DmpStore store, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var (filter, error) = MessageFilters.FromQuery(q, [.. MessageFilters.Names, .. MessageFilters.Paging]);
            if (filter is null)
                return Problems.BadRequest(error!);
            var limit = 100;
            if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > InboxQueries.MaxLimit))
                return Problems.BadRequest($"limit must be a whole number from 1 to {InboxQueries.MaxLimit}");
            InboxPage page;
            try
            {
                page = await store.Queries.ListAsync(filter, limit, q["cursor"].FirstOrDefault(), ct);
            }
            catch (FormatException)
            {
                return Problems.BadRequest("cursor is not one this server gave");
            }
            string? next = null;
            if (page.NextCursor is { } cursor)
            {
                var query = q.Where(p => p.Key != "cursor").Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value.ToString())}")
                    .Append("cursor=" + Uri.EscapeDataString(cursor));
                next = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}{http.Request.Path}?{string.Join('&', query)}";
            }
            return Results.Json(new { items = page.Items.Select(ToJson), next });
        });

        api.MapGet("/messages/{id:long}", async (long id, DmpStore store, CancellationToken ct) =>
        {
            var detail = await store.Queries.GetAsync(id, ct);
            if (detail is null)
                return Problems.NotFound($"no inbound message {id}");
            var item = ToJson(detail.Message);
            item["history"] = detail.History.Select(h => new { at = h.At, status = h.Status, detail = h.Detail }).ToList();
            var produced = await store.Queries.ProducedAsync(id, ct);
            item["produced"] = new
            {
                patients = produced.Patients.Select(p => new
                {
                    id = p,
                    link = $"/fhir/Patient/{p}",
                    identifiers = produced.Identifiers.Where(i => i.PatientId == p).Select(i => new { kind = i.Kind, system = i.System, value = i.Value }),
                }),
                documents = produced.Documents.Select(d => new { id = d.Id, uniqueId = d.UniqueId, link = $"/fhir/DocumentReference/{d.Id}" }),
                entries = produced.Entries.Select(e => new { type = e.Type, id = e.PublicId, link = $"/fhir/{e.Type}/{e.PublicId}" }),
            };
            return Results.Json(item);
        });

        api.MapGet("/messages/{id:long}/raw", async (long id, HttpContext http, DmpStore store, ILoggerFactory logs, CancellationToken ct) =>
        {
            var (detail, raw, unavailable) = await ReadRawAuditedAsync(store, logs, http.User, id, ct);
            if (detail is null)
                return Problems.NotFound($"no inbound message {id}");
            if (unavailable == RawUnavailable.Purged)
                return Problems.Gone(PurgedDetail(id, detail.Message.RawPurgedAt!.Value));
            if (raw is null)
                return Problems.NotFound($"the raw bytes of message {id} are missing from the blob store");
            var contentType = Dmp.Mapping.InboundMapper.LooksLikeXml(raw) ? "application/xml" : "x-application/hl7-v2+er7";
            return Results.Bytes(raw, contentType);
        });

        api.MapMessageSearch(app);

        api.MapGet("/audit/verify", async (DmpStore store, CancellationToken ct) =>
        {
            AuditVerification verification;
            try
            {
                verification = await store.Audit.VerifyAsync(ct);
            }
            catch (System.Data.Common.DbException e)
            {
                return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "the audit trail could not be read: " + e.GetType().Name);
            }
            return Results.Json(new
            {
                intact = verification.Intact,
                chains = verification.Chains,
                events = verification.Events,
                breaks = verification.Breaks.Select(b => new { chain = b.Chain, seq = b.Seq, eventId = b.EventId, reason = b.Reason }),
            });
        });

        api.MapPost("/messages/{id:long}/replay", async (long id, DmpStore store, ProcessingSignal signal, CancellationToken ct) =>
        {
            var detail = await store.Queries.GetAsync(id, ct);
            if (detail is null)
                return Problems.NotFound($"no inbound message {id}");
            if (detail.Message.RawPurgedAt is { } purgedAt)
                return Problems.Gone($"message {id} cannot be replayed: " + PurgedDetail(id, purgedAt));
            if (!await store.Processing.RequeueForReplayAsync(id, ct))
                return Problems.Conflict($"message {id} is {detail.Message.Status}: only failed, held, processed and ignored messages (with their raw bytes) can be replayed");
            signal.Pulse();
            var after = await store.Queries.GetAsync(id, ct);
            return Results.Json(ToJson(after!.Message), statusCode: StatusCodes.Status202Accepted);
        }).WithBody(BodyContract.None);
    }

    private static string PurgedDetail(long id, DateTimeOffset purgedAt) =>
        string.Create(CultureInfo.InvariantCulture,
            $"the raw bytes of message {id} were purged by retention (Dmp:Retention:RawDays) at {purgedAt:yyyy-MM-ddTHH:mm:ssZ}; its metadata, hash, ACK and history remain");

    private static Dictionary<string, object?> ToJson(InboundMessageSummary m) => new()
    {
        ["id"] = m.Id,
        ["channel"] = m.Channel,
        ["sender"] = m.Sender,
        ["senderName"] = m.SenderName,
        ["controlId"] = m.ControlId,
        ["messageType"] = m.MessageType,
        ["fileName"] = m.FileName,
        ["remoteEndpoint"] = m.RemoteEndpoint,
        ["status"] = m.Status,
        ["warnings"] = m.Warnings,
        ["error"] = m.Error,
        ["receivedAt"] = m.ReceivedAt,
        ["lastReceivedAt"] = m.LastReceivedAt,
        ["receipts"] = m.Receipts,
        ["ackCode"] = m.AckCode,
        ["sha256"] = m.Sha256Hex,
        ["length"] = m.Length,
        ["truncated"] = m.Truncated,
        ["rawPurgedAt"] = m.RawPurgedAt,
        ["traceId"] = m.TraceId,
    };
}

/// <summary>RFC 9457 problem details for the operator API.</summary>
public static class Problems
{
    public static IResult BadRequest(string detail) => Problem(400, "Bad request", detail);
    public static IResult NotFound(string detail) => Problem(404, "Not found", detail);
    public static IResult Conflict(string detail) => Problem(409, "Conflict", detail);
    public static IResult Gone(string detail) => Problem(410, "Gone", detail);

    public static IResult Problem(int status, string title, string detail) =>
        Results.Json(new { type = "about:blank", title, status, detail }, statusCode: status, contentType: "application/problem+json");
}

/// <summary>Why a stored message's raw bytes cannot be shown: they can (None), retention purged them, or the blob store lacks them.</summary>
public enum RawUnavailable
{
    None,
    Purged,
    Missing,
}
