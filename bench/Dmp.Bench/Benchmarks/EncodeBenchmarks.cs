using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Bench.Benchmarks;

/// <summary>Encode a parsed message back to bytes: our encoder against the split baseline's join.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class EncodeBenchmarks
{
    private Hl7Message _adt = null!;
    private Hl7Message _oru = null!;
    private Hl7Message _mdm = null!;
    private SplitMessage _splitAdt = null!;
    private SplitMessage _splitOru = null!;
    private SplitMessage _splitMdm = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_adt, _splitAdt) = Load(BenchCorpus.Adt);
        (_oru, _splitOru) = Load(BenchCorpus.Oru);
        (_mdm, _splitMdm) = Load(BenchCorpus.MdmBase64);
    }

    private static (Hl7Message, SplitMessage) Load(string file)
    {
        var bytes = BenchCorpus.Read(file);
        var parsed = Hl7Message.Parse(bytes);
        return (parsed.Message ?? throw new InvalidOperationException($"{file}: {parsed.Error}"), SplitMessage.Parse(bytes));
    }

    [Benchmark, BenchmarkCategory("ADT")] public byte[] Ours_ADT() => Hl7Encoder.Encode(_adt);
    [Benchmark(Baseline = true), BenchmarkCategory("ADT")] public byte[] Split_ADT() => _splitAdt.Encode();
    [Benchmark, BenchmarkCategory("ORU")] public byte[] Ours_ORU() => Hl7Encoder.Encode(_oru);
    [Benchmark(Baseline = true), BenchmarkCategory("ORU")] public byte[] Split_ORU() => _splitOru.Encode();
    [Benchmark, BenchmarkCategory("MDM-base64")] public byte[] Ours_MDM_Base64() => Hl7Encoder.Encode(_mdm);
    [Benchmark(Baseline = true), BenchmarkCategory("MDM-base64")] public byte[] Split_MDM_Base64() => _splitMdm.Encode();
}
