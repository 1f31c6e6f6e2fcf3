using BenchmarkDotNet.Attributes;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Ingest.Worker.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Dmp.Bench.Benchmarks;

/// <summary>
/// What counting costs one MLLP message on the hot path: received (with its type label from the rules), the door's
/// accepted mark, the ACK counter and latency, the final status with its processing time — with the OpenTelemetry
/// meter provider listening as `/metrics` does (`Listened=true`), and with nobody listening (`Dmp:Metrics:Enabled=false`).
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private ServiceProvider _services = null!;
    private MeterProvider? _provider;
    private GatewayMetrics _metrics = null!;
    private long _id;

    [Params(true, false)]
    public bool Listened { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var rules = new RuleSetReloader(Options.Create(new RulesOptions { Path = BenchRules.Locate(), ReloadSeconds = 0 }), NullLogger<RuleSetReloader>.Instance);
        rules.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        var mllp = Options.Create(new MllpOptions());
        _metrics = new GatewayMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), Options.Create(new MetricsOptions { Enabled = Listened }),
            new MessageTypeLabels(rules), new MllpConnectionLimiter(mllp), new CertificateExpiry(mllp, Options.Create(new HttpOptions()), TimeProvider.System));
        if (Listened)
            _provider = Sdk.CreateMeterProviderBuilder().AddMeter(GatewayMetrics.MeterName).AddPrometheusExporter().Build();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider?.Dispose();
        _metrics.Dispose();
        _services.Dispose();
    }

    /// <summary>Everything one accepted ADT^A01 counts, from its frame to its final status.</summary>
    [Benchmark]
    public void One_message()
    {
        var id = ++_id;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _metrics.Received("mllp", "lab", _metrics.Types.Label("ADT^A01"));
        _metrics.Accepted(id);
        _metrics.Acked("mllp", "lab", "AA");
        _metrics.AckWritten(started);
        _metrics.Finished(id, "lab", "processed");
    }
}
