using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Auth;

/// <summary>
/// JWT bearer settings (`Dmp:Auth:*`). With an <see cref="Authority"/> the keys come from its OIDC
/// metadata (production); without one, tokens are HS256 with <see cref="SigningKey"/> or, when that
/// is unset, a key created once in `&lt;DataDir&gt;/dev-signing.key` (development).
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Dmp:Auth";
    public const string DevIssuer = "dmp-ingest-dev";

    public string? Authority { get; set; }
    public string Audience { get; set; } = "dmp-ingest";
    public string? SigningKey { get; set; }
    /// <summary>Expected issuer with a signing key (development); the authority's own issuer otherwise.</summary>
    public string Issuer { get; set; } = DevIssuer;
    /// <summary>Allow an http:// authority (tests only).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;
    /// <summary>
    /// The furthest a development (HS256) token's `exp` may lie from now: a token valid longer is refused (401), so a
    /// leaked or hand-made token cannot live for years. The `token` verb issues tokens within it.
    /// </summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromHours(24);
    /// <summary>The console's OIDC sign-in (`Dmp:Auth:Console:*`), on when <see cref="Authority"/> and its client id are set.</summary>
    public ConsoleOidcOptions Console { get; set; } = new();
}

/// <summary>
/// The console's OIDC client (`Dmp:Auth:Console:*`): authorization code + PKCE against `Dmp:Auth:Authority`, and which of
/// the provider's claims carry the API's `role`, `ins`, `rpps` and `org` (by default the same names).
/// </summary>
public sealed class ConsoleOidcOptions
{
    public const string Section = AuthOptions.Section + ":Console";

    public string? ClientId { get; set; }
    /// <summary>Unset: a public client (PKCE alone); set: sent as client_secret_post at the token endpoint.</summary>
    public string? ClientSecret { get; set; }
    /// <summary>Space-separated scopes asked for; `openid` is required.</summary>
    public string Scopes { get; set; } = "openid";
    /// <summary>The provider's name on the sign-in button; the authority's host when unset.</summary>
    public string? DisplayName { get; set; }
    /// <summary>The role every identity of this provider gets when it sends none (a provider of professionals only); unset: read <see cref="RoleClaim"/>.</summary>
    public string? Role { get; set; }
    public string RoleClaim { get; set; } = DmpClaims.Role;
    public string InsClaim { get; set; } = DmpClaims.Ins;
    public string RppsClaim { get; set; } = DmpClaims.Rpps;
    /// <summary>A prefix taken off the RPPS claim's value when present (Pro Santé Connect's national id is 8 + RPPS).</summary>
    public string? RppsPrefix { get; set; }
    public string OrgClaim { get; set; } = DmpClaims.Org;
    /// <summary>How long a console session signed in through the provider lasts (no sliding).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    public bool Enabled(AuthOptions auth) => !string.IsNullOrEmpty(auth?.Authority) && !string.IsNullOrEmpty(ClientId);

    public IReadOnlyList<string> ScopeNames() => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Names the setting and the fix when the auth settings are wrong.</summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        if (options.SigningKey is { Length: > 0 and < 32 })
            return ValidateOptionsResult.Fail("Dmp:Auth:SigningKey is shorter than 32 characters: use a longer secret, or unset it to use <DataDir>/dev-signing.key");
        if (options.Authority is { Length: > 0 } authority && !Uri.TryCreate(authority, UriKind.Absolute, out _))
            return ValidateOptionsResult.Fail($"Dmp:Auth:Authority '{authority}' is not an absolute URL: use the OIDC issuer URL");
        if (options.MaxTokenLifetime < TimeSpan.FromMinutes(1) || options.MaxTokenLifetime > TimeSpan.FromDays(366))
            return ValidateOptionsResult.Fail($"Dmp:Auth:MaxTokenLifetime '{options.MaxTokenLifetime}' is out of range: use a lifetime from 00:01:00 to 366.00:00:00 (default 1.00:00:00)");
        if (string.IsNullOrWhiteSpace(options.Audience))
            return ValidateOptionsResult.Fail("Dmp:Auth:Audience is empty: set it (default dmp-ingest)");
        if (!options.RequireHttpsMetadata && options.Authority is { Length: > 0 } http && Uri.TryCreate(http, UriKind.Absolute, out var uri) && !uri.IsLoopback)
            return ValidateOptionsResult.Fail($"Dmp:Auth:RequireHttpsMetadata is false with the authority '{http}', which is not on loopback: an identity provider is reached over https (false is for tests on loopback only)");
        return ValidateConsole(options) is { } console ? ValidateOptionsResult.Fail(console) : ValidateOptionsResult.Success;
    }

    private static string? ValidateConsole(AuthOptions options)
    {
        var c = options.Console;
        const string K = ConsoleOidcOptions.Section;
        if (c.ClientId is { Length: > 0 } && string.IsNullOrEmpty(options.Authority))
            return $"{K}:ClientId is set but Dmp:Auth:Authority is not: set the authority (the OIDC issuer URL) or unset the client id (development sign-in by token)";
        if (c.ClientId is { } id && string.IsNullOrWhiteSpace(id) && id.Length > 0)
            return $"{K}:ClientId is blank: set the client id registered with the provider, or unset it";
        if (c.ClientSecret is { Length: > 0 } && string.IsNullOrEmpty(c.ClientId))
            return $"{K}:ClientSecret is set without {K}:ClientId: set the client id too";
        if (!c.ScopeNames().Contains("openid", StringComparer.Ordinal))
            return $"{K}:Scopes '{c.Scopes}' lacks openid: use space-separated scopes starting with openid (default openid)";
        foreach (var (key, value) in new[] { ("RoleClaim", c.RoleClaim), ("InsClaim", c.InsClaim), ("RppsClaim", c.RppsClaim), ("OrgClaim", c.OrgClaim) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Any(char.IsWhiteSpace))
                return $"{K}:{key} '{value}' is not a claim name: name the provider's claim (default {DefaultClaim(key)})";
        }
        if (c.Role is { } role && !DmpClaims.Roles.Contains(role))
            return $"{K}:Role '{role}' is not a role: use patient, professional or operator, or unset it to read {K}:RoleClaim";
        if (c.RppsPrefix is { Length: > 0 } prefix && !prefix.All(char.IsAsciiDigit))
            return $"{K}:RppsPrefix '{prefix}' is not digits: use the digits the provider puts before the RPPS (8 for Pro Santé Connect's national id), or unset it";
        if (c.SessionLifetime < TimeSpan.FromMinutes(1) || c.SessionLifetime > TimeSpan.FromDays(1))
            return $"{K}:SessionLifetime '{c.SessionLifetime}' is out of range: use a lifetime from 00:01:00 to 1.00:00:00 (default 08:00:00)";
        return null;
    }

    private static string DefaultClaim(string key) => key switch
    {
        "RoleClaim" => DmpClaims.Role,
        "InsClaim" => DmpClaims.Ins,
        "RppsClaim" => DmpClaims.Rpps,
        _ => DmpClaims.Org,
    };
}
