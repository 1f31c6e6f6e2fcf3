using System.Globalization;
using System.Text;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.RuleWorkbench;
using Dmp.Mapping;
using Dmp.Store;
using Microsoft.AspNetCore.Antiforgery;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>
/// One input tried on the rules page: mapped with the loaded rules and with the files on disk (or their errors when they
/// do not load), and the field diff between the two Bundles.
/// </summary>
public sealed record RulesTrialView(
    string Source, TrialResult Loaded, TrialResult? Disk, IReadOnlyList<string> DiskErrors, IReadOnlyList<FieldChange> Diff, int DiffTotal);

/// <summary>
/// The console's rules workbench (`/console/rules`) beyond its page: the same trial, preview and audited reload as
/// `/api/rules`, a stored message's bytes read (and audited) as its detail page reads them. The console never writes a
/// rule file.
/// </summary>
public static class ConsoleRules
{
    /// <summary>The reload button's POST: the manual reload of `POST /api/rules/reload`, then back to the page with its outcome.</summary>
    public static void MapConsoleRules(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/console/rules/reload", async (HttpContext http, IAntiforgery antiforgery, RuleSetReloader reloader, DmpStore store, ILoggerFactory logs) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            var subject = Operator.OperatorEndpoints.OperatorSubject(http.User);
            var errors = await Operator.RuleEndpoints.ReloadAsync(reloader, store, logs, subject, http.RequestAborted);
            return Results.Redirect("/console/rules?reload=" + (errors.Count == 0 ? "done" : "refused"));
        }).RequireAuthorization(ConsoleHosting.OperatorPolicy).DisableAntiforgery();
    }

    /// <summary>A stored message tried against both rule sets; its raw read audited as the detail page's. Null: no such message or no bytes.</summary>
    public static async Task<RulesTrialView?> TryStoredAsync(long id, DmpStore store, RuleSetReloader reloader, ILoggerFactory logs, System.Security.Claims.ClaimsPrincipal user, CancellationToken ct)
    {
        var (detail, raw, _) = await Operator.OperatorEndpoints.ReadRawAuditedAsync(store, logs, user, id, ct);
        if (detail is null || raw is null)
            return null;
        return Try(raw, RuleTrial.ChannelOf(detail.Message.Sender), reloader, "message " + id.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A pasted message or document: segment breaks as a sender sends them (CR), a document as typed.</summary>
    public static RulesTrialView TryPasted(string text, RuleSetReloader reloader)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var bytes = InboundMapper.LooksLikeXml(Encoding.UTF8.GetBytes(trimmed))
            ? Encoding.UTF8.GetBytes(trimmed)
            : Encoding.UTF8.GetBytes(trimmed.ReplaceLineEndings("\r") + "\r");
        return Try(bytes, RuleTrial.TrialChannel, reloader, "pasted");
    }

    private static RulesTrialView Try(byte[] raw, string channel, RuleSetReloader reloader, string source)
    {
        ArgumentNullException.ThrowIfNull(reloader);
        var loaded = RuleTrial.Run(raw, channel, reloader.Current);
        var (rules, errors) = reloader.LoadFromDisk();
        if (rules is null)
            return new RulesTrialView(source, loaded, null, errors, [], 0);
        var disk = RuleTrial.Run(raw, channel, rules, explain: false);
        var (diff, total) = BundleDiff.Compare(loaded.Bundle, disk.Bundle);
        return new RulesTrialView(source, loaded, disk, [], diff, total);
    }

    /// <summary>The Bundle as indented JSON for the page.</summary>
    public static string Pretty(System.Text.Json.Nodes.JsonNode? bundle) =>
        bundle?.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) ?? "";
}
