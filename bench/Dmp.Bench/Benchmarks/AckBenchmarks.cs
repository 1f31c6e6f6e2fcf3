using BenchmarkDotNet.Attributes;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Bench.Benchmarks;

/// <summary>Build the AA acknowledgement of a parsed message (what MLLP does for every frame).</summary>
[MemoryDiagnoser]
public class AckBenchmarks
{
    private Hl7Message _adt = null!;
    private Hl7Message _oru = null!;

    [GlobalSetup]
    public void Setup()
    {
        _adt = Hl7Message.Parse(BenchCorpus.Read(BenchCorpus.Adt)).Message!;
        _oru = Hl7Message.Parse(BenchCorpus.Read(BenchCorpus.Oru)).Message!;
    }

    [Benchmark] public byte[] Ack_ADT() => AckBuilder.Build(_adt, AckCode.AA);
    [Benchmark] public byte[] Ack_ORU() => AckBuilder.Build(_oru, AckCode.AA);
}
