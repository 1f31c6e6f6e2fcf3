using BenchmarkDotNet.Attributes;
using Dmp.Mapping.Rules;

namespace Dmp.Bench.Benchmarks;

/// <summary>
/// Parse + map to the DMP model with the shipped rules (`mappings/`, compiled once), as the processing worker does:
/// <c>Hl7Message.Parse</c> then <c>RuleSet.Map</c>, no FHIR. Issue 9's target: ≥ 50,000 ADT/s per thread (≤ 20 µs).
/// </summary>
/// <remarks>Median and Min columns: on a shared 2-core machine the mean is pulled up by other processes' bursts.</remarks>
[MemoryDiagnoser]
[MedianColumn]
[MinColumn]
public class RuleMapBenchmarks
{
    private RuleSet _rules = RuleSet.Empty;
    private byte[] _adt = [];
    private byte[] _adtPam = [];
    private byte[] _oru = [];

    [GlobalSetup]
    public void Setup()
    {
        _rules = BenchRules.Load();
        _adt = BenchCorpus.Read(BenchCorpus.Adt);
        _adtPam = BenchCorpus.Read(BenchCorpus.AdtPam);
        _oru = BenchCorpus.Read(BenchCorpus.Oru);
        RuleMapWorkloads.RequireRule(_rules, _adt, BenchCorpus.Adt);
        RuleMapWorkloads.RequireRule(_rules, _adtPam, BenchCorpus.AdtPam);
        RuleMapWorkloads.RequireRule(_rules, _oru, BenchCorpus.Oru);
    }

    [Benchmark] public int RuleMap_ADT() => RuleMapWorkloads.ParseAndMap(_rules, _adt);
    [Benchmark] public int RuleMap_ADT_PAM() => RuleMapWorkloads.ParseAndMap(_rules, _adtPam);
    [Benchmark] public int RuleMap_ORU() => RuleMapWorkloads.ParseAndMap(_rules, _oru);
}
