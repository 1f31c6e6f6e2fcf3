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
        return ValidateOptionsResult.Success;
    }
}
