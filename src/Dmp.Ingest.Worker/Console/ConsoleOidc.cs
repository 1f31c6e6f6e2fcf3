using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Dmp.Ingest.Worker.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>
/// The console's production sign-in: OpenID Connect authorization code + PKCE against `Dmp:Auth:Authority`, on when
/// `Dmp:Auth:Console:ClientId` is set too. The provider's claims are mapped to `role`, `ins`, `rpps`, `org`
/// (<see cref="ConsoleOidcOptions"/>), checked by the API's own rule (<see cref="DmpClaims.Refusal"/>), then become the
/// console's cookie session (<see cref="ConsoleSignIn.Scheme"/>) — an identity the API would refuse gets no session.
/// </summary>
public static class ConsoleOidc
{
    public const string Scheme = "DmpConsoleOidc";
    public const string SignInPath = "/console/oidc/signin";
    public const string CallbackPath = "/console/oidc/callback";
    public const string SignedOutCallbackPath = "/console/oidc/signed-out";
    public const string RefusedPath = "/console/oidc/refused";

    /// <summary>The correlation and nonce cookies' names start with this (the handler adds a random suffix).</summary>
    public const string CookiePrefix = "dmp-console-oidc.";

    private const string IdTokenName = "id_token";
    private const string IdTokenItem = "dmp-console-oidc-id-token";

    /// <summary>Whether the configuration turns OIDC sign-in on (read before the options are bound: it decides the registration).</summary>
    public static bool Configured(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return !string.IsNullOrEmpty(configuration[AuthOptions.Section + ":Authority"])
            && !string.IsNullOrEmpty(configuration[ConsoleOidcOptions.Section + ":ClientId"]);
    }

    public static void AddConsoleOidc(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!Configured(builder.Configuration))
            return;
        builder.Services.AddAuthentication().AddOpenIdConnect(Scheme, _ => { });
        builder.Services.AddSingleton<IConfigureOptions<OpenIdConnectOptions>, ConfigureOidc>();
    }

    public static void MapConsoleOidc(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!Configured(app.Configuration))
            return;

        // A link, not a form: the console's CSP says form-action 'self', and a browser applies it to the redirects
        // that follow a form's submission too — a POST answered by a redirect to the provider would be blocked.
        // Starting a sign-in carries no authority of its own (the state and nonce cookies bind its answer to this browser).
        app.MapGet(SignInPath, async (HttpContext http, string? returnUrl, ILoggerFactory logs) =>
        {
            try
            {
                await http.ChallengeAsync(Scheme, new AuthenticationProperties { RedirectUri = ConsoleHosting.LocalReturn(returnUrl) });
                return Results.Empty;
            }
            catch (Exception e) when (ProviderUnreachable(e))
            {
                LogUnreachable(logs, "sign-in", e);
                return Results.Redirect(RefusedPath + "?kind=unavailable");
            }
        }).AllowAnonymous();
    }

    /// <summary>
    /// Ends the console session; one signed in through the provider goes on to its end_session_endpoint when it
    /// advertises one (RP-initiated logout), which sends the browser back to `/console/login`.
    /// </summary>
    public static async Task<IResult> SignOutAsync(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var idToken = await http.GetTokenAsync(ConsoleSignIn.Scheme, IdTokenName);
        await http.SignOutAsync(ConsoleSignIn.Scheme);
        if (idToken is null || !Configured(http.RequestServices.GetRequiredService<IConfiguration>()))
            return Results.Redirect("/console/login");
        http.Items[IdTokenItem] = idToken;
        try
        {
            await http.SignOutAsync(Scheme, new AuthenticationProperties { RedirectUri = "/console/login" });
            return Results.Empty;
        }
        catch (Exception e) when (ProviderUnreachable(e))
        {
            // The provider is unreachable: the console session is ended all the same.
            LogUnreachable(http.RequestServices.GetRequiredService<ILoggerFactory>(), "sign-out", e);
            return Results.Redirect("/console/login");
        }
    }

    /// <summary>What the handler throws when the provider's metadata cannot be read (down, refusing, not an OIDC provider).</summary>
    private static bool ProviderUnreachable(Exception e) => e is InvalidOperationException or HttpRequestException or IOException;

    private static void LogUnreachable(ILoggerFactory logs, string step, Exception e) =>
        logs.CreateLogger("Dmp.Console.Oidc").LogWarning("Console {Step}: the OIDC provider's metadata could not be read: {Reason}", step, e.Message);

    /// <summary>
    /// The console identity for the provider's claims (mapped by <paramref name="options"/>), or the reason it is refused.
    /// Only the five claims the API reads are kept; the reason names claims, never their values.
    /// </summary>
    public static (ClaimsPrincipal? Principal, string? Refusal) Map(ClaimsPrincipal source, ConsoleOidcOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var subjects = source.FindAll(DmpClaims.Subject).Select(c => c.Value).Distinct(StringComparer.Ordinal).ToList();
        if (subjects.Count != 1 || subjects[0].Length == 0)
            return (null, "the provider's identity carries no single sub claim");

        var claims = new List<Claim> { new(DmpClaims.Subject, subjects[0]) };
        if (options.Role is { } fixedRole)
            claims.Add(new Claim(DmpClaims.Role, fixedRole));
        else
            claims.AddRange(source.FindAll(options.RoleClaim).Select(c => new Claim(DmpClaims.Role, c.Value)));
        claims.AddRange(source.FindAll(options.InsClaim).Select(c => new Claim(DmpClaims.Ins, c.Value)));
        claims.AddRange(source.FindAll(options.RppsClaim).Select(c => new Claim(DmpClaims.Rpps,
            options.RppsPrefix is { Length: > 0 } prefix && c.Value.StartsWith(prefix, StringComparison.Ordinal) ? c.Value[prefix.Length..] : c.Value)));
        claims.AddRange(source.FindAll(options.OrgClaim).Select(c => new Claim(DmpClaims.Org, c.Value)));

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ConsoleSignIn.Scheme, DmpClaims.Subject, DmpClaims.Role));
        return DmpClaims.Refusal(principal) is { } refusal ? (null, refusal) : (principal, null);
    }

    /// <summary>
    /// A page that moves the browser on by itself (meta refresh, no script: the CSP forbids it) to <paramref name="target"/>.
    /// Used where a redirect would not do: after the callback, a redirect would keep the navigation that began on the
    /// provider's site, and the browser would not send the new Strict session cookie with it; before the provider's
    /// logout, a redirect answering the sign-out form would be blocked by form-action 'self'. A navigation started by
    /// this page is this site's own.
    /// </summary>
    private static Task WriteMoveOnPageAsync(HttpContext http, string target)
    {
        var url = HtmlEncoder.Default.Encode(target);
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.ContentSecurityPolicy = ConsoleHosting.ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-cache, no-store";
        return response.WriteAsync(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=" + url + "\">"
            + "<title>dmp-ingest console</title><link rel=\"stylesheet\" href=\"/console/console.css\"></head>"
            + "<body><main id=\"content\"><p><a href=\"" + url + "\" data-testid=\"move-on\">Continue — Continuer</a></p></main></body></html>\n");
    }

    private static void RedirectRefused(HttpContext http, string kind)
    {
        http.Response.Redirect(RefusedPath + "?kind=" + kind);
    }

    /// <summary>The handler's settings, from the validated <see cref="AuthOptions"/>.</summary>
    private sealed class ConfigureOidc(IOptions<AuthOptions> auth, ILoggerFactory logs) : IConfigureNamedOptions<OpenIdConnectOptions>
    {
        public void Configure(OpenIdConnectOptions options) => Configure(Scheme, options);

        public void Configure(string? name, OpenIdConnectOptions options)
        {
            if (name != Scheme)
                return;
            var a = auth.Value;
            var c = a.Console;
            var log = logs.CreateLogger("Dmp.Console.Oidc");
            options.Authority = a.Authority;
            options.RequireHttpsMetadata = a.RequireHttpsMetadata;
            options.ClientId = c.ClientId;
            options.ClientSecret = string.IsNullOrEmpty(c.ClientSecret) ? null : c.ClientSecret;
            options.ResponseType = OpenIdConnectResponseType.Code;
            options.UsePkce = true;
            // The answer comes back as a GET (query), not a form_post: a cross-site POST would carry no Lax cookie.
            options.ResponseMode = OpenIdConnectResponseMode.Query;
            options.Scope.Clear();
            foreach (var scope in c.ScopeNames())
                options.Scope.Add(scope);
            options.CallbackPath = CallbackPath;
            options.SignedOutCallbackPath = SignedOutCallbackPath;
            options.RemoteSignOutPath = "/console/oidc/front-channel-logout";
            options.SignedOutRedirectUri = "/console/login";
            options.SignInScheme = ConsoleSignIn.Scheme;
            options.SignOutScheme = ConsoleSignIn.Scheme;
            options.MapInboundClaims = false;
            options.SaveTokens = false;
            options.UseTokenLifetime = false;
            options.DisableTelemetry = true;
            options.TokenValidationParameters.NameClaimType = DmpClaims.Subject;
            options.TokenValidationParameters.RoleClaimType = DmpClaims.Role;
            // Claims are read from userinfo too (a provider such as Pro Santé Connect gives them only there), by
            // OnUserInformationReceived below rather than by claim actions: one place decides what a claim name means.
            options.GetClaimsFromUserInfoEndpoint = true;
            options.ClaimActions.Clear();

            // The correlation and nonce cookies must come back with the provider's answer, a cross-site top-level GET
            // (response_mode=query): Lax is sent with it, Strict would not be, and None would need https. They live
            // minutes, under the callback's path only, and carry no session. The session cookie itself stays Strict.
            foreach (var cookie in new[] { options.CorrelationCookie, options.NonceCookie })
            {
                cookie.Name = CookiePrefix + (cookie == options.NonceCookie ? "nonce." : "correlation.");
                cookie.SameSite = SameSiteMode.Lax;
                cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.HttpOnly = true;
                cookie.Path = CallbackPath;
            }

            options.Events = new OpenIdConnectEvents
            {
                OnTokenValidated = context =>
                {
                    // The API's rule on a token's payload: a member named twice is read differently by different parsers.
                    var payload = context.SecurityToken?.RawPayload;
                    if (payload is not null && DmpClaims.RepeatedMember(payload) is not null)
                    {
                        log.LogWarning("Console sign-in refused: the provider's ID token names a claim twice");
                        context.HandleResponse();
                        RedirectRefused(context.HttpContext, "claims");
                        return Task.CompletedTask;
                    }
                    // Kept for the provider's logout (id_token_hint); the only token the session keeps.
                    var idToken = context.TokenEndpointResponse?.IdToken ?? context.ProtocolMessage.IdToken;
                    if (idToken is not null)
                        context.Properties!.StoreTokens([new AuthenticationToken { Name = IdTokenName, Value = idToken }]);
                    return Task.CompletedTask;
                },
                OnUserInformationReceived = context =>
                {
                    var identity = (ClaimsIdentity)context.Principal!.Identity!;
                    foreach (var claimName in new[] { c.RoleClaim, c.InsClaim, c.RppsClaim, c.OrgClaim }.Distinct(StringComparer.Ordinal))
                    {
                        var values = context.User.RootElement.EnumerateObject().Where(p => p.NameEquals(claimName)).SelectMany(p => Values(p.Value)).ToList();
                        if (values.Count == 0)
                            continue;
                        // Userinfo's answer replaces the ID token's claim of the same name: one source per claim, never two added up.
                        foreach (var old in identity.FindAll(claimName).ToList())
                            identity.RemoveClaim(old);
                        identity.AddClaims(values.Select(v => new Claim(claimName, v)));
                    }
                    return Task.CompletedTask;
                },
                OnTicketReceived = async context =>
                {
                    context.HandleResponse();
                    var (principal, refusal) = Map(context.Principal!, c);
                    if (principal is null)
                    {
                        log.LogWarning("Console sign-in refused: {Reason}", refusal);
                        RedirectRefused(context.HttpContext, "claims");
                        return;
                    }
                    var properties = new AuthenticationProperties
                    {
                        ExpiresUtc = DateTimeOffset.UtcNow + c.SessionLifetime,
                        IsPersistent = false,
                        AllowRefresh = false,
                    };
                    if (context.Properties?.GetTokenValue(IdTokenName) is { } idToken)
                        properties.StoreTokens([new AuthenticationToken { Name = IdTokenName, Value = idToken }]);
                    await context.HttpContext.SignInAsync(ConsoleSignIn.Scheme, principal, properties);
                    await WriteMoveOnPageAsync(context.HttpContext, ConsoleHosting.LocalReturn(context.ReturnUri));
                },
                OnRemoteFailure = context =>
                {
                    // A denied consent, an expired or forged state, a code the provider refuses: a clear page, never a 500.
                    log.LogWarning("Console sign-in failed: {Reason}", context.Failure?.Message);
                    context.HandleResponse();
                    RedirectRefused(context.HttpContext, "failed");
                    return Task.CompletedTask;
                },
                OnRedirectToIdentityProviderForSignOut = async context =>
                {
                    context.HandleResponse();
                    var message = context.ProtocolMessage;
                    if (string.IsNullOrEmpty(message.IssuerAddress))
                    {
                        // No end_session_endpoint advertised: the console session alone is ended.
                        context.Response.Redirect("/console/login");
                        return;
                    }
                    message.IdTokenHint = context.HttpContext.Items[IdTokenItem] as string;
                    message.ClientId = c.ClientId;
                    message.State = context.Options.StateDataFormat.Protect(context.Properties);
                    await WriteMoveOnPageAsync(context.HttpContext, message.CreateLogoutRequestUrl());
                },
            };
        }

        private static IEnumerable<string> Values(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => [value.GetString()!],
            JsonValueKind.Array => value.EnumerateArray().SelectMany(Values),
            JsonValueKind.Null or JsonValueKind.Undefined => [],
            _ => [value.GetRawText()],
        };
    }
}
