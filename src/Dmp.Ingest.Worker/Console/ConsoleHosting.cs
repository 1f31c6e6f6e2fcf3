using System.Globalization;
using Dmp.Ingest.Worker.Auth;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Localization;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>
/// The operators' console under `/console/`: Razor components rendered on the server (no script), a cookie session
/// traded for a token, antiforgery on every form, a strict Content-Security-Policy, French and English.
/// </summary>
public static class ConsoleHosting
{
    public const string SignedInPolicy = "console-signed-in";
    public const string OperatorPolicy = "console-operator";
    public const string CookieName = "dmp-console";
    public const string CultureCookieName = "dmp-console-culture";

    /// <summary>The header every console answer carries: only this origin's resources, no inline script or style, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

    public static readonly IReadOnlyList<CultureInfo> Cultures = [new("en"), new("fr")];

    public static void AddOperatorConsole(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddRazorComponents();
        services.AddLocalization();
        // Sessions live as long as a development token at most; keys in memory: a restart signs everyone out.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "dmp-console-antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__antiforgery";
        });
        services.AddAuthentication().AddCookie(ConsoleSignIn.Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = "/console";
            o.LoginPath = "/console/login";
            o.AccessDeniedPath = "/console/forbidden";
            o.ReturnUrlParameter = "returnUrl";
            o.SlidingExpiration = false;
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(SignedInPolicy, p => p.AddAuthenticationSchemes(ConsoleSignIn.Scheme).RequireAuthenticatedUser())
            .AddPolicy(OperatorPolicy, p => p.AddAuthenticationSchemes(ConsoleSignIn.Scheme).RequireAuthenticatedUser()
                .RequireClaim(DmpClaims.Role, DmpClaims.Operator));
        services.AddSingleton<ConsoleSignIn>();
        services.AddSingleton<ConsoleMessages>();
        services.AddSingleton<ConsoleDashboard>();
        services.AddSingleton<AckLatency>();
        builder.AddConsoleOidc();
        builder.AddConsoleDossier();
    }

    /// <summary>The console's middleware, after authentication and authorization: headers, culture, antiforgery.</summary>
    public static void UseOperatorConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The listener starts with the host: latency measured before the first dashboard view is kept.
        _ = app.Services.GetRequiredService<AckLatency>();
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/console"), console =>
        {
            console.Use(async (context, next) =>
            {
                // Under /console the caller is the console session (the default scheme is the API's bearer): every
                // page and form, anonymous ones included, sees the same user, so antiforgery tokens match their forms.
                var session = await context.AuthenticateAsync(ConsoleSignIn.Scheme);
                if (session.Succeeded)
                    context.User = session.Principal;
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                // A filtered URL may name a patient: it never leaves in a Referer.
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-cache, no-store";
                headers.Pragma = "no-cache";
                await next(context);
            });
            var localization = new RequestLocalizationOptions
            {
                DefaultRequestCulture = new RequestCulture("en"),
                SupportedCultures = [.. Cultures],
                SupportedUICultures = [.. Cultures],
                FallBackToParentCultures = true,
                FallBackToParentUICultures = true,
            };
            localization.RequestCultureProviders = [new CookieRequestCultureProvider { CookieName = CultureCookieName }, new AcceptLanguageHeaderRequestCultureProvider()];
            console.UseRequestLocalization(localization);
        });
        app.UseAntiforgery();
    }

    public static void MapOperatorConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // A browser opening the gateway lands on the console; an API client still gets the API's 401.
        app.MapGet("/", (HttpContext http) =>
            http.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase)
                ? Results.Redirect("/console/")
                : http.User.Identity?.IsAuthenticated == true ? Results.NotFound() : Results.Extensions.Api401()).AllowAnonymous();

        app.MapGet("/console/console.css", () => Results.Text(ConsoleStyle.Css, "text/css")).AllowAnonymous();
        app.MapGet("/console/icon.svg", () => Results.Text(ConsoleStyle.Icon, "image/svg+xml")).AllowAnonymous();

        app.MapPost("/console/session", async (HttpContext http, ConsoleSignIn signIn, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            var form = await http.Request.ReadFormAsync();
            var (principal, expires, refusal) = await signIn.ValidateAsync(http, form["token"].FirstOrDefault());
            if (principal is null)
                return Results.Redirect("/console/login?error=" + Uri.EscapeDataString(refusal is "empty" or "invalid" ? refusal : "claims"));
            await ConsoleSignIn.SignInAsync(http, principal, expires);
            return Results.Redirect(LocalReturn(form["returnUrl"].FirstOrDefault()));
        }).AllowAnonymous().DisableAntiforgery();

        app.MapPost("/console/signout", async (HttpContext http, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            return await ConsoleOidc.SignOutAsync(http);
        }).AllowAnonymous().DisableAntiforgery();

        app.MapPost("/console/language", async (HttpContext http, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            var form = await http.Request.ReadFormAsync();
            var culture = Cultures.FirstOrDefault(c => c.Name == form["culture"].FirstOrDefault()) ?? Cultures[0];
            http.Response.Cookies.Append(CultureCookieName, CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)), new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = http.Request.IsHttps,
                Path = "/console",
                MaxAge = TimeSpan.FromDays(365),
                IsEssential = true,
            });
            return Results.Redirect(LocalReturn(form["returnUrl"].FirstOrDefault()));
        }).AllowAnonymous().DisableAntiforgery();

        app.MapPost("/console/messages/{id:long}/replay", async (long id, HttpContext http, IAntiforgery antiforgery, ConsoleMessages messages) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            var replayed = await messages.ReplayAsync(id, http.RequestAborted);
            return Results.Redirect($"/console/messages/{id.ToString(CultureInfo.InvariantCulture)}?replay={(replayed ? "queued" : "refused")}");
        }).RequireAuthorization(OperatorPolicy).DisableAntiforgery();

        // Bulk replay of a filtered selection, once the operator confirmed the count the page showed (as POST /api/messages/replay).
        app.MapPost("/console/messages/replay", async (HttpContext http, IAntiforgery antiforgery, Dmp.Store.DmpStore store, Pipeline.ProcessingSignal signal,
            Operator.BulkReplays replays, ILoggerFactory logs, IHostApplicationLifetime lifetime) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
                return Results.BadRequest();
            var form = await http.Request.ReadFormAsync();
            var filters = ConsoleFilters.FromForm(form);
            var (filter, _) = filters.ToInboxFilter();
            if (filter is null || !long.TryParse(form["expectedCount"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var expected))
                return Results.Redirect("/console/messages" + filters.Query());
            var subject = Operator.OperatorEndpoints.OperatorSubject(http.User);
            var (replay, count) = await Operator.MessageSearchEndpoints.ConfirmAndStartAsync(
                replays, filter, expected, subject, store, signal, logs.CreateLogger("Dmp.Operator.Replay"), lifetime.ApplicationStopping, http.RequestAborted);
            var query = filters.Query();
            var outcome = replay is null ? "bulk=refused&found=" + count.ToString(CultureInfo.InvariantCulture) : "bulk=" + replay.Id;
            return Results.Redirect("/console/messages" + query + (query.Length == 0 ? "?" : "&") + outcome);
        }).RequireAuthorization(OperatorPolicy).DisableAntiforgery();

        app.MapConsoleOidc();
        app.MapConsoleDossier();
        app.MapConsoleRules();
        app.MapRazorComponents<ConsoleApp>();
    }

    /// <summary>Only a path of the console itself: a return address never leads off the site.</summary>
    internal static string LocalReturn(string? url) =>
        url is { Length: > 0 } u && u.StartsWith("/console", StringComparison.Ordinal) && !u.StartsWith("//", StringComparison.Ordinal) && !u.Contains('\\', StringComparison.Ordinal)
            ? u
            : "/console/";

    private static IResult Api401(this IResultExtensions _) => new Api401Result();

    private sealed class Api401Result : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) =>
            GatewayAuthentication.WriteErrorAsync(httpContext, StatusCodes.Status401Unauthorized, "a valid bearer token is required");
    }
}
