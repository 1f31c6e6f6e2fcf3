using System.Net;
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
}

/// <summary>Where mapping rules are read from (`Dmp:Rules:*`).</summary>
public sealed class RulesOptions
{
    public const string Section = "Dmp:Rules";
    public string Path { get; set; } = "mappings";
    /// <summary>How often the running gateway looks for changed rule files; 0 turns reloading off (tests).</summary>
    public int ReloadSeconds { get; set; } = 5;
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
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
