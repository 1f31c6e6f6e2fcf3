using System.Security.Claims;
using Dmp.Ingest.Worker.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>
/// The console's development sign-in: a token pasted in a form is validated exactly as the API's bearer scheme
/// validates it (the same <see cref="JwtBearerOptions"/>: signature, issuer, audience, lifetime, then the same
/// <c>OnTokenValidated</c> claim rules), then traded for a cookie session that ends no later than the token.
/// Only with development authentication (no `Dmp:Auth:Authority`); with one, <see cref="ConsoleOidc"/> signs in.
/// </summary>
public sealed class ConsoleSignIn(IOptionsMonitor<JwtBearerOptions> jwt, IAuthenticationSchemeProvider schemes, IOptions<AuthOptions> auth)
{
    /// <summary>The console's cookie scheme.</summary>
    public const string Scheme = "DmpConsole";

    /// <summary>The principal of a valid token and its expiry, or the reason it is refused (never the token's values).</summary>
    public async Task<(ClaimsPrincipal? Principal, DateTimeOffset Expires, string? Refusal)> ValidateAsync(HttpContext http, string? token)
    {
        ArgumentNullException.ThrowIfNull(http);
        token = token?.Trim();
        if (string.IsNullOrEmpty(token))
            return (null, default, "empty");
        // With an authority the console signs in through it (ConsoleOidc), never by a pasted token: the form is for
        // development authentication only, and a token posted anyway is refused as not valid here.
        if (!string.IsNullOrEmpty(auth.Value.Authority))
            return (null, default, "invalid");
        var options = jwt.Get(JwtBearerDefaults.AuthenticationScheme);
        var parameters = options.TokenValidationParameters.Clone();
        if (options.ConfigurationManager is { } manager)
        {
            // An OIDC authority: its issuer and signing keys, as the bearer handler reads them.
            var configuration = await manager.GetConfigurationAsync(http.RequestAborted);
            parameters.ValidIssuers = [.. parameters.ValidIssuers ?? [], configuration.Issuer];
            parameters.IssuerSigningKeys = [.. parameters.IssuerSigningKeys ?? [], .. configuration.SigningKeys];
        }

        Microsoft.IdentityModel.Tokens.TokenValidationResult? result = null;
        foreach (var handler in options.TokenHandlers)
        {
            result = await handler.ValidateTokenAsync(token, parameters);
            if (result.IsValid)
                break;
        }
        if (result is not { IsValid: true })
            return (null, default, "invalid");

        var principal = new ClaimsPrincipal(result.ClaimsIdentity);
        var scheme = await schemes.GetSchemeAsync(JwtBearerDefaults.AuthenticationScheme)
            ?? throw new InvalidOperationException("the bearer scheme is not registered");
        var validated = new TokenValidatedContext(http, scheme, options) { Principal = principal, SecurityToken = result.SecurityToken };
        await options.Events.TokenValidated(validated);
        if (validated.Result is { Failure: { } failure })
            return (null, default, failure is TokenClaimsException ? failure.Message : "invalid");

        var expires = new DateTimeOffset(DateTime.SpecifyKind(result.SecurityToken.ValidTo, DateTimeKind.Utc));
        return (principal, expires, null);
    }

    /// <summary>Signs the console session in: the token's claims in a cookie that expires with the token.</summary>
    public static Task SignInAsync(HttpContext http, ClaimsPrincipal principal, DateTimeOffset expires)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var identity = new ClaimsIdentity(
            principal.Claims.Where(c => c.Type is DmpClaims.Role or DmpClaims.Subject or DmpClaims.Ins or DmpClaims.Rpps or DmpClaims.Org),
            Scheme, DmpClaims.Subject, DmpClaims.Role);
        return http.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties
        {
            ExpiresUtc = expires,
            IsPersistent = false,
            AllowRefresh = false,
        });
    }
}
