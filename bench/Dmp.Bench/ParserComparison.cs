using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dmp.Bench;

/// <summary>Settings of <see cref="ParserComparison"/>.</summary>
public sealed record ComparisonOptions
{
    /// <summary>Measured time, after warm-up, shared by the workloads.</summary>
    public double Seconds { get; init; } = 10;
    public double MinWarmupSeconds { get; init; } = 1;
    /// <summary>Warm-up stops here even if throughput has not settled (reported as <c>warmup_stable: false</c>).</summary>
    public double MaxWarmupSeconds { get; init; } = 15;
    public TimeSpan Slice { get; init; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Successive warm-up rounds must agree within this fraction for every workload.</summary>
    public double StableWithin { get; init; } = 0.05;
    public int AllocationIterations { get; init; } = 2000;
    public string? CorpusDir { get; init; }
    /// <summary>The rules folder for the parse + map workload; null: the shipped `mappings/`.</summary>
    public string? RulesDir { get; init; }
}

/// <summary>
/// The quick parser measurement for scripts (`compare`): our reader against the split baseline on the ADT and ORU
/// of the corpus, and parse + map of the ADT to the DMP model with the shipped rules (`RuleSet.Map`, no FHIR).
/// Warm-up runs until the JIT has settled (throughput of successive rounds stable); measurement alternates short
/// slices of the workloads so that machine noise falls on all of them alike.
/// </summary>
public static class ParserComparison
{
    private static int _sink;

    public static ComparisonResult Run(ComparisonOptions options, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var adt = BenchCorpus.Read(BenchCorpus.Adt, options.CorpusDir);
        var oru = BenchCorpus.Read(BenchCorpus.Oru, options.CorpusDir);
        var rules = BenchRules.Load(options.RulesDir);
        RuleMapWorkloads.RequireRule(rules, adt, BenchCorpus.Adt);
        Workload[] workloads =
        [
            new("ours_adt", () => ParseWorkloads.Ours(adt)),
            new("split_adt", () => ParseWorkloads.Split(adt)),
            new("ours_oru", () => ParseWorkloads.Ours(oru)),
            new("split_oru", () => ParseWorkloads.Split(oru)),
            new("ours_map_adt", () => RuleMapWorkloads.ParseAndMap(rules, adt)),
        ];
        var sliceTicks = (long)(options.Slice.TotalSeconds * Stopwatch.Frequency);

        // Warm-up: rounds of one slice per workload until the JIT has stopped compiling (tier-up included) or, on a
        // quiet machine, until every workload's rate stops moving. Noise from other processes can keep rates moving,
        // so the JIT's own count is the sturdier of the two signals.
        var warmup = Stopwatch.StartNew();
        var previous = new double[workloads.Length];
        var stableRounds = 0;
        var jitQuietRounds = 0;
        var jitCount = JitInfo.GetCompiledMethodCount();
        var stable = false;
        while (warmup.Elapsed.TotalSeconds < options.MaxWarmupSeconds)
        {
            var allWithin = true;
            for (var i = 0; i < workloads.Length; i++)
            {
                var (ops, ticks) = RunSlice(workloads[i].Run, sliceTicks);
                var rate = ops * (double)Stopwatch.Frequency / ticks;
                if (previous[i] == 0 || Math.Abs(rate - previous[i]) / previous[i] > options.StableWithin)
                    allWithin = false;
                previous[i] = rate;
            }
            stableRounds = allWithin ? stableRounds + 1 : 0;
            var compiled = JitInfo.GetCompiledMethodCount();
            jitQuietRounds = compiled == jitCount ? jitQuietRounds + 1 : 0;
            jitCount = compiled;
            if ((stableRounds >= 2 || jitQuietRounds >= 3) && warmup.Elapsed.TotalSeconds >= options.MinWarmupSeconds)
            {
                stable = true;
                break;
            }
        }
        var warmupSeconds = warmup.Elapsed.TotalSeconds;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up: {warmupSeconds:F1} s, {(stable ? "stable" : "not stable (stopped at the limit)")}"));

        // Measurement: alternate the workloads slice by slice.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var totalOps = new long[workloads.Length];
        var totalTicks = new long[workloads.Length];
        var measured = Stopwatch.StartNew();
        while (measured.Elapsed.TotalSeconds < options.Seconds)
        {
            for (var i = 0; i < workloads.Length; i++)
            {
                var (ops, ticks) = RunSlice(workloads[i].Run, sliceTicks);
                totalOps[i] += ops;
                totalTicks[i] += ticks;
            }
        }
        var rates = new double[workloads.Length];
        for (var i = 0; i < workloads.Length; i++)
            rates[i] = totalOps[i] * (double)Stopwatch.Frequency / totalTicks[i];

        var alloc = new long[workloads.Length];
        for (var i = 0; i < workloads.Length; i++)
            alloc[i] = AllocatedPerCall(workloads[i].Run, options.AllocationIterations);

        for (var i = 0; i < workloads.Length; i++)
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{workloads[i].Name}: {rates[i]:F0}/s, {alloc[i]} B/call"));

        return new ComparisonResult
        {
            OursAdtPerSecond = Math.Round(rates[0], 1),
            SplitAdtPerSecond = Math.Round(rates[1], 1),
            OursOruPerSecond = Math.Round(rates[2], 1),
            SplitOruPerSecond = Math.Round(rates[3], 1),
            OursAdtAllocBytes = alloc[0],
            OursOruAllocBytes = alloc[2],
            SplitAdtAllocBytes = alloc[1],
            SplitOruAllocBytes = alloc[3],
            RatioAdt = Math.Round(rates[0] / rates[1], 2),
            RatioOru = Math.Round(rates[2] / rates[3], 2),
            WarmupSeconds = Math.Round(warmupSeconds, 2),
            WarmupStable = stable,
            MeasuredSeconds = Math.Round(measured.Elapsed.TotalSeconds, 2),
            OursMapAdtPerSecond = Math.Round(rates[4], 1),
            OursMapAdtAllocBytes = alloc[4],
            Sink = Volatile.Read(ref _sink),
        };
    }

    /// <summary>Runs the workload for about one slice; returns the operations done and the ticks they took.</summary>
    private static (long Ops, long Ticks) RunSlice(Func<int> run, long sliceTicks)
    {
        const int Batch = 4; // reading the clock every few parses keeps its cost out of the figures
        var sink = 0;
        long ops = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + sliceTicks;
        long now;
        do
        {
            for (var i = 0; i < Batch; i++)
                sink += run();
            ops += Batch;
            now = Stopwatch.GetTimestamp();
        }
        while (now < end);
        Interlocked.Add(ref _sink, sink);
        return (ops, now - start);
    }

    private static long AllocatedPerCall(Func<int> run, int iterations)
    {
        var sink = run();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < iterations; i++)
            sink += run();
        var after = GC.GetAllocatedBytesForCurrentThread();
        Interlocked.Add(ref _sink, sink);
        return (long)Math.Round((after - before) / (double)iterations);
    }

    private sealed record Workload(string Name, Func<int> Run);
}

/// <summary>What `compare` prints as its last line.</summary>
public sealed record ComparisonResult
{
    [JsonPropertyName("ours_adt_per_s")] public double OursAdtPerSecond { get; init; }
    [JsonPropertyName("split_adt_per_s")] public double SplitAdtPerSecond { get; init; }
    [JsonPropertyName("ours_oru_per_s")] public double OursOruPerSecond { get; init; }
    [JsonPropertyName("split_oru_per_s")] public double SplitOruPerSecond { get; init; }
    [JsonPropertyName("ours_adt_alloc_bytes")] public long OursAdtAllocBytes { get; init; }
    [JsonPropertyName("ours_oru_alloc_bytes")] public long OursOruAllocBytes { get; init; }
    [JsonPropertyName("split_adt_alloc_bytes")] public long SplitAdtAllocBytes { get; init; }
    [JsonPropertyName("split_oru_alloc_bytes")] public long SplitOruAllocBytes { get; init; }
    /// <summary>Ours ÷ split, in parses per second.</summary>
    [JsonPropertyName("ratio_adt")] public double RatioAdt { get; init; }
    [JsonPropertyName("ratio_oru")] public double RatioOru { get; init; }
    [JsonPropertyName("warmup_s")] public double WarmupSeconds { get; init; }
    [JsonPropertyName("warmup_stable")] public bool WarmupStable { get; init; }
    [JsonPropertyName("measured_s")] public double MeasuredSeconds { get; init; }
    /// <summary>Parse + <c>RuleSet.Map</c> of the ADT with the shipped rules, to the DMP model (issue 9: ≥ 50,000/s per thread).</summary>
    [JsonPropertyName("ours_map_adt_per_s")] public double OursMapAdtPerSecond { get; init; }
    [JsonPropertyName("ours_map_adt_alloc_bytes")] public long OursMapAdtAllocBytes { get; init; }
    /// <summary>Keeps the parsed values observable, so the JIT cannot drop the work.</summary>
    [JsonIgnore] public int Sink { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this);
}
