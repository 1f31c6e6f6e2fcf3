using System.Globalization;
using System.Text.Json;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.RuleWorkbench;
using Dmp.Mapping.Rules;
using Dmp.Store;
using Dmp.Store.Audit;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Operator;

/// <summary>
/// The rules workbench under `/api/rules` (role `operator`): try an input against the loaded rules or the files on disk,
/// preview a rule change over stored messages (read-only), and — in `Dmp:Rules:Reload=manual` — put the files in force.
/// </summary>
public static class RuleEndpoints
{
    private static readonly JsonElement? EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>The most bytes `POST /api/rules/try` reads: a message or a CDA document with its attachments.</summary>
    public const long MaxTryBytes = 1024 * 1024;

    /// <summary>The body of `POST /api/rules/try`: the input as a sender sends it.</summary>
    public static readonly BodyContract TryBody = new(["x-application/hl7-v2+er7", "text/plain", "application/xml", "text/xml"], true, MaxTryBytes);

    /// <summary>The body of `POST /api/rules/preview`: a JSON object of filters and `limit`.</summary>
    public static readonly BodyContract PreviewBody = new(["application/json"], false, BodyContract.DefaultMaxBytes);

    public static void MapRuleApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api").RequireAuthorization(DmpClaims.OperatorPolicy);
        api.AddEndpointFilter(RequestBodies.Filter((status, detail) => Problems.Problem(status, Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status), detail)));

        api.MapGet("/rules", (RuleSetReloader reloader) =>
        {
            var rules = reloader.Current;
            return Results.Json(new
            {
                reload = reloader.Manual ? "manual" : "auto",
                loadedAt = reloader.LoadedAt,
                diskChanged = reloader.DiskChanged,
                rules = rules.Rules.Count,
                documentRules = rules.DocumentRules.Count,
                tables = rules.Tables.Count,
                files = rules.Files.Count,
            });
        }).WithBody(BodyContract.None);

        api.MapPost("/rules/try", async (HttpContext http, RuleSetReloader reloader, CancellationToken ct) =>
        {
            var unknown = http.Request.Query.Keys.Where(k => k != "rules").ToList();
            if (unknown.Count > 0)
                return Problems.BadRequest("unknown parameter: the only parameter is rules (loaded or disk)");
            var (rules, refusal) = Choose(http.Request.Query["rules"].ToString(), reloader);
            if (refusal is not null)
                return refusal;
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, ct);
            if (buffer.Length == 0)
                return Problems.BadRequest("POST /api/rules/try needs a body: an HL7 v2 message or a CDA document");
            var trial = RuleTrial.Run(buffer.ToArray(), RuleTrial.TrialChannel, rules!);
            if (trial.Error is not null)
                return Unprocessable("the input does not map: " + trial.ErrorText, null);
            return Results.Json(new { bundle = trial.Bundle, explanation = RuleTrial.ToJson(trial.Explanation) });
        }).WithBody(TryBody);

        api.MapPost("/rules/preview", async (HttpContext http, RuleSetReloader reloader, DmpStore store, IOptions<RulesOptions> options, CancellationToken ct) =>
        {
            if (http.Request.Query.Count > 0)
                return Problems.BadRequest("POST /api/rules/preview takes its filters in a JSON body, not in the query string");
            // No body: the defaults (the last messages of every sender).
            if ((RequestBodies.HasBody(http.Request) ? await RequestBodies.ReadJsonAsync(http.Request, ct) : EmptyObject) is not { } body)
                return Problems.BadRequest("the body is not JSON: send {\"sender\": …, \"type\": \"ORU^R01\", \"since\": …, \"limit\": 1000}");

            var (filter, error) = MessageFilters.FromJson(body, ["limit"]);
            if (filter is null)
                return Problems.BadRequest(error!);
            var limit = RulePreview.DefaultLimit;
            if (body.TryGetProperty("limit", out var limitElement) && (!limitElement.TryGetInt32(out limit) || limit is < 1 or > RulePreview.MaxLimit))
                return Problems.BadRequest($"limit must be a whole number from 1 to {RulePreview.MaxLimit}");
            var (disk, errors) = reloader.LoadFromDisk();
            if (disk is null)
                return Unprocessable("the rule files on disk do not load", errors);
            var result = await RulePreview.RunAsync(store, filter, limit, reloader.Current, disk, TimeSpan.FromSeconds(options.Value.PreviewTimeoutSeconds), ct);
            return Results.Json(RulePreview.ToJson(result));
        }).WithBody(PreviewBody);

        api.MapPost("/rules/reload", async (HttpContext http, RuleSetReloader reloader, DmpStore store, ILoggerFactory logs, CancellationToken ct) =>
        {
            if (http.Request.Query.Count > 0)
                return Problems.BadRequest("POST /api/rules/reload takes no parameters");
            var subject = OperatorEndpoints.OperatorSubject(http.User);
            var errors = await ReloadAsync(reloader, store, logs, subject, ct);
            if (errors.Count > 0)
                return Unprocessable("the rule files on disk do not load: the rules in force stay", errors);
            return Results.Json(new { reloaded = true, loadedAt = reloader.LoadedAt, rules = reloader.Current.Rules.Count, files = reloader.Current.Files.Count });
        }).WithBody(BodyContract.None);
    }

    /// <summary>
    /// Puts the rule files on disk in force, audited in the operator chain whether it succeeds or is refused (the API and
    /// the console's button): the errors (`FILE:LINE:COL: reason`) when refused, the rules in force then unchanged.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ReloadAsync(RuleSetReloader reloader, DmpStore store, ILoggerFactory logs, string subject, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(reloader);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(logs);
        var errors = reloader.ReloadNow();
        var detail = errors.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{reloader.Current.Files.Count} rule files put in force from {reloader.Folder}")
            : "refused: " + errors[0];
        await store.Audit.AppendAsync([new AuditRecord(
            null, AuditAgentKinds.Operator, subject, DmpClaims.Operator, AuditActions.RulesReload, AuditEntityTypes.RuleSet,
            reloader.Folder, errors.Count == 0 ? AuditOutcomes.Success : AuditOutcomes.Invalid, Detail: detail)], ct);
        logs.CreateLogger("Dmp.Audit").LogInformation(new EventId(5201, "RulesReloadRequested"), "Operator {Operator} asked for a rules reload: {Outcome}",
            subject, errors.Count == 0 ? "loaded" : "refused");
        return errors;
    }

    /// <summary>The rule set `?rules=` names: `loaded` (default) or `disk` (a broken folder is a 422 with its errors).</summary>
    private static (RuleSet? Rules, IResult? Refusal) Choose(string which, RuleSetReloader reloader)
    {
        switch (which)
        {
            case "" or "loaded":
                return (reloader.Current, null);
            case "disk":
                var (disk, errors) = reloader.LoadFromDisk();
                return disk is null ? (null, Unprocessable("the rule files on disk do not load", errors)) : (disk, null);
            default:
                return (null, Problems.BadRequest("rules must be loaded (the rules in force, the default) or disk (the files as they are now)"));
        }
    }

    private static IResult Unprocessable(string detail, IReadOnlyList<string>? errors) =>
        Results.Json(
            new { type = "about:blank", title = "Unprocessable content", status = StatusCodes.Status422UnprocessableEntity, detail, errors },
            statusCode: StatusCodes.Status422UnprocessableEntity, contentType: "application/problem+json");
}
