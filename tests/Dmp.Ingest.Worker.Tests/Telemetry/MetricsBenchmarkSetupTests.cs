using Dmp.Bench.Benchmarks;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>The counting benchmark of docs/BENCHMARKS.md sets up and runs its message both ways (no timing here).</summary>
public sealed class MetricsBenchmarkSetupTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_counting_benchmark_counts_a_message_with_and_without_a_listener(bool listened)
    {
        var benchmark = new MetricsBenchmarks { Listened = listened };
        benchmark.Setup();
        try
        {
            for (var i = 0; i < 1000; i++)
                benchmark.One_message();
        }
        finally
        {
            benchmark.Cleanup();
        }
    }
}
