using BenchmarkDotNet.Attributes;
using Dmp.Mapping;

namespace Dmp.Bench.Benchmarks;

/// <summary>Map an input to a FHIR Bundle, end to end (today's generic mapping; the rules engine will replace it).</summary>
[MemoryDiagnoser]
public class MapBenchmarks
{
    private byte[] _adt = [];
    private byte[] _oru = [];
    private byte[] _cda = [];

    [GlobalSetup]
    public void Setup()
    {
        _adt = BenchCorpus.Read(BenchCorpus.Adt);
        _oru = BenchCorpus.Read(BenchCorpus.Oru);
        _cda = BenchCorpus.Read(BenchCorpus.Cda);
        foreach (var input in new[] { _adt, _oru, _cda })
        {
            var result = InboundMapper.Map(input, "bench");
            if (result.Bundle is null)
                throw new InvalidOperationException("benchmark input does not map: " + result.Error?.Reason);
        }
    }

    [Benchmark] public MapResult Map_ADT() => InboundMapper.Map(_adt, "bench");
    [Benchmark] public MapResult Map_ORU() => InboundMapper.Map(_oru, "bench");
    [Benchmark] public MapResult Map_CDA() => InboundMapper.Map(_cda, "bench");

    // What the processing worker does now: the model only, no Bundle (FHIR is built per stored entry).
    [Benchmark] public ModelMapResult MapModel_ADT() => InboundMapper.MapModel(_adt, "bench", Dmp.Mapping.Rules.RuleSet.Empty);
    [Benchmark] public ModelMapResult MapModel_ORU() => InboundMapper.MapModel(_oru, "bench", Dmp.Mapping.Rules.RuleSet.Empty);
    [Benchmark] public ModelMapResult MapModel_CDA() => InboundMapper.MapModel(_cda, "bench", Dmp.Mapping.Rules.RuleSet.Empty);
}
