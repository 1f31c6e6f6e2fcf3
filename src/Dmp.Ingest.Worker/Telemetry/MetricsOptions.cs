using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Telemetry;

/// <summary>The metrics the gateway counts and who may scrape them at `GET /metrics` (`Dmp:Metrics:*`).</summary>
public sealed class MetricsOptions
{
    public const string Section = "Dmp:Metrics";

    /// <summary>False: nothing is counted, `/metrics` is not served and no metric leaves by OTLP.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A scrape from a loopback address needs no token (a Prometheus on the same host). False: every scrape needs an
    /// operator token — set it when a reverse proxy on the same host forwards outside requests.
    /// </summary>
    public bool AllowAnonymousLoopback { get; set; } = true;
}

/// <summary>Where traces and metrics are pushed by OTLP (`Dmp:Telemetry:*`; `OTEL_EXPORTER_OTLP_ENDPOINT` works too).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Dmp:Telemetry";

    /// <summary>An OTLP collector, e.g. http://127.0.0.1:4317; unset (and no `OTEL_EXPORTER_OTLP_ENDPOINT`): nothing is pushed.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>`Grpc` (port 4317 by convention) or `HttpProtobuf` (port 4318, paths /v1/metrics and /v1/traces).</summary>
    public OtlpWire OtlpProtocol { get; set; } = OtlpWire.Grpc;

    /// <summary>How often metrics are pushed by OTLP.</summary>
    public int ExportIntervalSeconds { get; set; } = 15;
}

/// <summary>The OTLP wire format.</summary>
public enum OtlpWire
{
    Grpc,
    HttpProtobuf,
}

/// <summary>One line naming the key and the fix for each wrong `Dmp:Telemetry:*` value.</summary>
public sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrEmpty(options.OtlpEndpoint)
            && (!Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            failures.Add($"Dmp:Telemetry:OtlpEndpoint '{options.OtlpEndpoint}' is not an http(s) URL: use e.g. http://127.0.0.1:4317, or remove it");
        if (options.ExportIntervalSeconds is < 1 or > 3600)
            failures.Add($"Dmp:Telemetry:ExportIntervalSeconds is {options.ExportIntervalSeconds}: use a number of seconds from 1 to 3600, e.g. 15");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
