using System.Net;
using Dmp.Ingest.Worker.Auth;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>Where the gateway keeps its data (`Dmp:DataDir`).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Dmp";
    public string DataDir { get; set; } = "./data";

    public string DataDirFullPath => Path.GetFullPath(DataDir);
}

/// <summary>The HTTP API listener (`Dmp:Http:*`).</summary>
public sealed class HttpOptions
{
    public const string Section = "Dmp:Http";
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; set; } = 8080;
    /// <summary>HTTPS on the API port when <see cref="HttpTlsOptions.CertificatePath"/> is set.</summary>
    public HttpTlsOptions Tls { get; set; } = new();
    /// <summary>
    /// Lets the API listen beyond loopback with development authentication or without TLS (a trusted network, a
    /// TLS-terminating proxy on the same host): without it such a start is refused.
    /// </summary>
    public bool AllowInsecure { get; set; }

    /// <summary>True when <see cref="Host"/> is a loopback address (127.0.0.0/8, ::1) or `localhost`.</summary>
    public bool IsLoopback => Host == "localhost" || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));

    public bool TlsEnabled => !string.IsNullOrEmpty(Tls.CertificatePath);
}

/// <summary>The API's certificate (`Dmp:Http:Tls:*`): a PEM certificate with `KeyPath` (or the key in the same file), or PKCS#12 with `Password`.</summary>
public sealed class HttpTlsOptions
{
    public const string Section = "Dmp:Http:Tls";
    public string? CertificatePath { get; set; }
    public string? KeyPath { get; set; }
    public string? Password { get; set; }
}

/// <summary>Where mapping rules are read from (`Dmp:Rules:*`).</summary>
public sealed class RulesOptions
{
    public const string Section = "Dmp:Rules";
    public string Path { get; set; } = "mappings";
    /// <summary>How often the running gateway looks for changed rule files; 0 turns reloading off (tests).</summary>
    public int ReloadSeconds { get; set; } = 5;

    /// <summary>`auto` (default): edits on disk load by polling; `manual`: only by `POST /api/rules/reload` (or the console's button).</summary>
    public string Reload { get; set; } = "auto";

    /// <summary>The longest a rule-change preview (`POST /api/rules/preview`) runs before it answers with what it examined.</summary>
    public double PreviewTimeoutSeconds { get; set; } = 30;

    public bool Manual => string.Equals(Reload, "manual", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Checks `Dmp:Rules:*` at start: one line naming the key, the value and the fix.</summary>
public sealed class RulesOptionsValidator : IValidateOptions<RulesOptions>
{
    public ValidateOptionsResult Validate(string? name, RulesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!string.Equals(options.Reload, "auto", StringComparison.OrdinalIgnoreCase) && !options.Manual)
            failures.Add($"Dmp:Rules:Reload is '{options.Reload}': use auto (edits load by polling) or manual (POST /api/rules/reload)");
        if (options.PreviewTimeoutSeconds is not (> 0 and <= 600) || double.IsNaN(options.PreviewTimeoutSeconds))
            failures.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Dmp:Rules:PreviewTimeoutSeconds is {options.PreviewTimeoutSeconds}: use a number of seconds above 0 and at most 600, e.g. 30"));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Checks the options at start and names the setting and the fix when one is wrong.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>, IValidateOptions<HttpOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options) =>
        string.IsNullOrWhiteSpace(options.DataDir)
            ? ValidateOptionsResult.Fail("Dmp:DataDir is empty: set it to a writable folder, e.g. --Dmp:DataDir=./data")
            : ValidateOptionsResult.Success;

    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        var failures = new List<string>();
        if (options.Port is < 0 or > 65535)
            failures.Add($"Dmp:Http:Port is {options.Port}: use a TCP port between 1 and 65535 (0 picks a free one)");
        if (!IPAddress.TryParse(options.Host, out _) && options.Host != "localhost")
            failures.Add($"Dmp:Http:Host '{options.Host}' is not an IP address: use e.g. 127.0.0.1");
        if (string.IsNullOrEmpty(options.Tls.CertificatePath) && (!string.IsNullOrEmpty(options.Tls.KeyPath) || !string.IsNullOrEmpty(options.Tls.Password)))
            failures.Add("Dmp:Http:Tls:KeyPath or Dmp:Http:Tls:Password is set but Dmp:Http:Tls:CertificatePath is not: give the PEM or PKCS#12 certificate, or remove them");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// The API beyond loopback needs production authentication (`Dmp:Auth:Authority`) and HTTPS (`Dmp:Http:Tls:CertificatePath`),
/// unless `Dmp:Http:AllowInsecure=true` says the exposure is intended: one line naming the keys otherwise (exit 64).
/// </summary>
public sealed class HttpExposureValidator(IOptions<AuthOptions> auth) : IValidateOptions<HttpOptions>
{
    public ValidateOptionsResult Validate(string? name, HttpOptions options)
    {
        var missing = Missing(options, auth.Value);
        if (options.IsLoopback || options.AllowInsecure || missing.Count == 0)
            return ValidateOptionsResult.Success;
        return ValidateOptionsResult.Fail(
            $"Dmp:Http:Host is {options.Host}, beyond loopback, with {string.Join(" and ", missing)}: set them, listen on 127.0.0.1, or set Dmp:Http:AllowInsecure=true to accept it");
    }

    /// <summary>What an exposed API lacks: development authentication, plain HTTP (each naming its key); empty when neither.</summary>
    public static List<string> Missing(HttpOptions http, AuthOptions auth)
    {
        var missing = new List<string>();
        if (string.IsNullOrEmpty(auth.Authority))
            missing.Add("development authentication (HS256 key; Dmp:Auth:Authority is not set)");
        if (!http.TlsEnabled)
            missing.Add("plain HTTP (Dmp:Http:Tls:CertificatePath is not set)");
        return missing;
    }
}
