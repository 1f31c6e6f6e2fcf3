using System.Diagnostics.Metrics;
using System.Net;
using Dmp.Ingest.Worker.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dmp.Ingest.Worker.Telemetry;

/// <summary>
/// OpenTelemetry in the gateway: the `Dmp.Ingest` meter with the ASP.NET Core, HttpClient and runtime instrumentations,
/// scraped at `GET /metrics` (Prometheus text) and pushed by OTLP when an endpoint is configured; traces of the
/// `Dmp.Ingest` activity source go by OTLP too. `/metrics` is anonymous from loopback, otherwise it needs an operator token.
/// </summary>
public static class GatewayTelemetry
{
    public const string MetricsPath = "/metrics";
    public const string MetricsPolicy = "metrics-scrape";
    public const string ServiceName = "dmp-ingest";
    /// <summary>The activity source of the message traces (written by the traces part of the gateway).</summary>
    public const string ActivitySourceName = "Dmp.Ingest";

    /// <summary>Options, instruments and the OpenTelemetry pipeline (<c>services.AddGatewayMetrics(config)</c> in the host).</summary>
    public static IServiceCollection AddGatewayMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.Section)).ValidateOnStart();
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelemetryOptions>, TelemetryOptionsValidator>();
        services.AddMetrics();
        services.AddSingleton<MessageTypeLabels>();
        services.AddSingleton<CertificateExpiry>();
        services.AddSingleton<GatewayMetrics>();
        services.AddAuthorizationBuilder().AddPolicy(MetricsPolicy, p => p.RequireAssertion(MayScrape));

        var metrics = configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions();
        var telemetry = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var otlp = !string.IsNullOrEmpty(telemetry.OtlpEndpoint) || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!metrics.Enabled && !otlp)
            return services;

        // Meters are picked by name in the whole process: two gateways in one process (tests) would add up each
        // other's counts. A meter another host's factory made is not this gateway's.
        services.ConfigureOpenTelemetryMeterProvider((sp, builder) =>
        {
            var own = sp.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => instrument.Meter.Scope is IMeterFactory other && !ReferenceEquals(other, own) ? MetricStreamConfiguration.Drop : null);
            // The instruments exist from the start, not from the first message: the certificate gauges and the TLS
            // failures of an HTTPS-only gateway have nothing else that would create them.
            _ = sp.GetRequiredService<GatewayMetrics>();
        });
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService(ServiceName));
        if (metrics.Enabled)
        {
            otel.WithMetrics(m =>
            {
                m.AddMeter(GatewayMetrics.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    // Every scrape reads the counters afresh (Prometheus scrapes seldom; a cached answer only confuses).
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                if (otlp)
                {
                    m.AddOtlpExporter((exporter, reader) =>
                    {
                        Configure(exporter, telemetry, "/v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = telemetry.ExportIntervalSeconds * 1000;
                    });
                }
            });
        }
        if (otlp)
        {
            otel.WithTracing(t => t.AddSource(ActivitySourceName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(exporter => Configure(exporter, telemetry, "/v1/traces")));
        }
        return services;
    }

    /// <summary>`GET /metrics` when metrics are on (<c>app.MapGatewayMetrics()</c> in the host); scrapes are left out of the HTTP metrics.</summary>
    public static WebApplication MapGatewayMetrics(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value.Enabled)
            return app;
        app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(MetricsPolicy).DisableHttpMetrics();
        return app;
    }

    /// <summary>
    /// An operator's token, or (unless `Dmp:Metrics:AllowAnonymousLoopback=false`) a request from a loopback address. A
    /// refusal without a token is a 401, with another role's token a 403.
    /// </summary>
    private static bool MayScrape(AuthorizationHandlerContext context)
    {
        if (context.User.Identity?.IsAuthenticated == true && context.User.HasClaim(DmpClaims.Role, DmpClaims.Operator))
            return true;
        if (context.Resource is not HttpContext http)
            return false;
        var options = http.RequestServices.GetRequiredService<IOptions<MetricsOptions>>().Value;
        return options.AllowAnonymousLoopback && http.Connection.RemoteIpAddress is { } remote
            && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
    }

    /// <summary>`Dmp:Telemetry:*` when set; otherwise the exporter reads the standard `OTEL_EXPORTER_OTLP_*` variables itself.</summary>
    private static void Configure(OtlpExporterOptions exporter, TelemetryOptions telemetry, string signalPath)
    {
        if (string.IsNullOrEmpty(telemetry.OtlpEndpoint))
            return;
        var endpoint = new Uri(telemetry.OtlpEndpoint);
        exporter.Protocol = telemetry.OtlpProtocol == OtlpWire.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        // Over HTTP an endpoint given in code is used as it is: a bare collector address gets the signal's path.
        if (exporter.Protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath is "/" or "")
            endpoint = new Uri(endpoint, signalPath);
        exporter.Endpoint = endpoint;
    }
}
