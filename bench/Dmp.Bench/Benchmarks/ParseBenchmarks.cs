using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Dmp.Bench.Benchmarks;

/// <summary>Parse and read PID-3 and PID-5: our reader against the split baseline, per message (ratio column: ours ÷ split).</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ParseBenchmarks
{
    private byte[] _adt = [];
    private byte[] _oru = [];
    private byte[] _mdm = [];

    [GlobalSetup]
    public void Setup()
    {
        _adt = BenchCorpus.Read(BenchCorpus.Adt);
        _oru = BenchCorpus.Read(BenchCorpus.Oru);
        _mdm = BenchCorpus.Read(BenchCorpus.MdmBase64);
    }

    [Benchmark, BenchmarkCategory("ADT")] public int Ours_ADT() => ParseWorkloads.Ours(_adt);
    [Benchmark(Baseline = true), BenchmarkCategory("ADT")] public int Split_ADT() => ParseWorkloads.Split(_adt);
    [Benchmark, BenchmarkCategory("ORU")] public int Ours_ORU() => ParseWorkloads.Ours(_oru);
    [Benchmark(Baseline = true), BenchmarkCategory("ORU")] public int Split_ORU() => ParseWorkloads.Split(_oru);
    [Benchmark, BenchmarkCategory("MDM-base64")] public int Ours_MDM_Base64() => ParseWorkloads.Ours(_mdm);
    [Benchmark(Baseline = true), BenchmarkCategory("MDM-base64")] public int Split_MDM_Base64() => ParseWorkloads.Split(_mdm);
}
