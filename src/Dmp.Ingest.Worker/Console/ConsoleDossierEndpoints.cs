using System.Globalization;
using Dmp.Ingest.Worker.Auth;
using Dmp.Store.Audit;
using Microsoft.AspNetCore.Antiforgery;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>
/// The console's dossier forms (POST + antiforgery, each answered by a redirect to the page that shows the outcome) and the
/// route that serves a document's PDF to the viewer's &lt;object&gt;. Every one goes through <see cref="ConsoleDossier"/>.
/// </summary>
public static class ConsoleDossierEndpoints
{
    public const string PatientPolicy = "console-patient";
    public const string ProfessionalPolicy = "console-professional";
    public const string ReaderPolicy = "console-dossier-reader";

    /// <summary>
    /// The viewer page's policy when it embeds a PDF: the console's, with <c>object-src</c> opened to this origin only
    /// (the PDF route) — still no script, no inline style, no other origin.
    /// </summary>
    public const string ViewerWithPdfPolicy =
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'self'; frame-src 'self'";

    /// <summary>
    /// The PDF route's own policy: a PDF runs nothing of this origin and loads nothing (default-src 'none'); only this
    /// origin's viewer page may embed it (frame-ancestors 'self'). Chromium refuses to show a PDF under `sandbox`, which the
    /// API's Binary sends to a client that only downloads; here the browser must render it.
    /// </summary>
    public const string PdfPolicy = "default-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

    private static readonly Dictionary<string, string> DocumentActions = new(StringComparer.Ordinal)
    {
        ["mask"] = AuditActions.Mask,
        ["unmask"] = AuditActions.Unmask,
        ["delete"] = AuditActions.Delete,
    };

    private static readonly Dictionary<string, string> DossierActions = new(StringComparer.Ordinal)
    {
        ["close"] = AuditActions.Close,
        ["reopen"] = AuditActions.Reopen,
        ["authorize"] = AuditActions.Authorize,
        ["revoke"] = AuditActions.Revoke,
        ["oppose-emergency"] = AuditActions.OpposeEmergency,
        ["allow-emergency"] = AuditActions.AllowEmergency,
    };

    /// <summary>The policies of the patients' and professionals' pages, and the dossier service.</summary>
    public static void AddConsoleDossier(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<ConsoleDossier>();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(PatientPolicy, p => p.AddAuthenticationSchemes(ConsoleSignIn.Scheme).RequireAuthenticatedUser()
                .RequireClaim(DmpClaims.Role, DmpClaims.Patient))
            .AddPolicy(ProfessionalPolicy, p => p.AddAuthenticationSchemes(ConsoleSignIn.Scheme).RequireAuthenticatedUser()
                .RequireClaim(DmpClaims.Role, DmpClaims.Professional))
            .AddPolicy(ReaderPolicy, p => p.AddAuthenticationSchemes(ConsoleSignIn.Scheme).RequireAuthenticatedUser()
                .RequireClaim(DmpClaims.Role, DmpClaims.Patient, DmpClaims.Professional));
    }

    public static void MapConsoleDossier(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.MapPost("/console/dossier/documents/{id:long}/{operation}", async (long id, string operation, HttpContext http, IAntiforgery antiforgery, ConsoleDossier dossier) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            if (!DocumentActions.TryGetValue(operation, out var action))
                return Results.NotFound();
            var outcome = await dossier.DocumentActionAsync(http, id, action, http.RequestAborted);
            var idText = id.ToString(CultureInfo.InvariantCulture);
            // A deleted document is gone from every view: the dossier says what happened.
            return Results.Redirect(action == AuditActions.Delete && outcome == "done"
                ? "/console/dossier?done=delete"
                : $"/console/dossier/documents/{idText}?{(outcome == "done" ? "done" : "failed")}={operation}");
        }).RequireAuthorization(PatientPolicy).DisableAntiforgery();

        app.MapPost("/console/dossier/rights", async (HttpContext http, IAntiforgery antiforgery, ConsoleDossier dossier) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            var form = await http.Request.ReadFormAsync();
            var operation = form["action"].ToString();
            if (!DossierActions.TryGetValue(operation, out var action))
                return Results.Redirect("/console/dossier?failed=unknown");
            var outcome = await dossier.DossierActionAsync(http, action, form["rpps"].FirstOrDefault(), form["treating"].ToString() == "true", http.RequestAborted);
            return Results.Redirect($"/console/dossier?{(outcome == "done" ? "done" : outcome == "invalid" ? "invalid" : "failed")}={operation}");
        }).RequireAuthorization(PatientPolicy).DisableAntiforgery();

        app.MapGet("/console/dossier/documents/{id:long}/pdf", (long id, HttpContext http, ConsoleDossier dossier) =>
            PdfAsync(id, null, http, dossier)).RequireAuthorization(ReaderPolicy);

        // Under emergency access the viewer's PDF is a form (the reason travels with each request, never in a URL or a cookie).
        app.MapPost("/console/dossier/documents/{id:long}/pdf", async (long id, HttpContext http, IAntiforgery antiforgery, ConsoleDossier dossier) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            var form = await http.Request.ReadFormAsync();
            return form["Reason"].ToString().Trim() is { Length: > 0 } reason ? await PdfAsync(id, reason, http, dossier) : Results.NotFound();
        }).RequireAuthorization(ProfessionalPolicy).DisableAntiforgery();
    }

    private static async Task<IResult> PdfAsync(long id, string? emergencyReason, HttpContext http, ConsoleDossier dossier)
    {
        // The console's headers, tightened for a document: never sniffed, runs nothing, embeddable by this origin only.
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = PdfPolicy;
        headers.XFrameOptions = "SAMEORIGIN";
        var pdf = await dossier.PdfAsync(http, id, emergencyReason, http.RequestAborted);
        if (pdf is null)
            return Results.NotFound();
        headers.ContentDisposition = "inline";
        return Results.Bytes(pdf, "application/pdf");
    }
}
