using Dmp.Mapping.Hl7v2;

namespace Dmp.Mapping.Tests.Hl7v2;

/// <summary>The reader's allocation budget (docs: ≤ 2 KiB per parse of an 8.5 KB ADT reading PID-3 and PID-5).</summary>
public class Hl7AllocationTests
{
    [Fact]
    public void Parsing_an_adt_and_reading_two_fields_allocates_under_2_kib()
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "hl7v2", "fhirconv_ADT-A01-01.hl7"));
        Assert.InRange(bytes.Length, 8000, 9000);
        var pid3 = Hl7Path.Parse("PID-3");
        var pid5 = Hl7Path.Parse("PID-5");
        for (var i = 0; i < 10; i++)
            Read(bytes, pid3, pid5);
        const int rounds = 100;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < rounds; i++)
            Read(bytes, pid3, pid5);
        var perParse = (GC.GetAllocatedBytesForCurrentThread() - before) / rounds;
        Assert.True(perParse <= 2048, $"{perParse} bytes per parse");
    }

    [Fact]
    public void Reading_with_string_paths_stays_under_2_kib()
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "hl7v2", "fhirconv_ADT-A01-01.hl7"));
        for (var i = 0; i < 10; i++)
            ReadByText(bytes);
        const int rounds = 100;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < rounds; i++)
            ReadByText(bytes);
        var perParse = (GC.GetAllocatedBytesForCurrentThread() - before) / rounds;
        Assert.True(perParse <= 2048, $"{perParse} bytes per parse");
    }

    private static void Read(byte[] bytes, Hl7Path pid3, Hl7Path pid5)
    {
        var m = Hl7Message.Parse(bytes).Message!;
        Assert.NotNull(m.Get(pid3));
        Assert.NotNull(m.Get(pid5));
    }

    private static void ReadByText(byte[] bytes)
    {
        var m = Hl7Message.Parse(bytes).Message!;
        Assert.NotNull(m.Get("PID-3"));
        Assert.NotNull(m.Get("PID-5"));
    }
}
