using Dmp.Mapping.Hl7v2;
using static Dmp.Mapping.Tests.Hl7v2.Hl7TestMessages;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7PathTests
{
    private static readonly Hl7Message Oru = Parse(
        "MSH|^~\\&|LAB|FAC|DPI|FAC|20240101120000||ORU^R01^ORU_R01|C1|P|2.5.1",
        "PID|1||111^^^HOSP&1.2.3&ISO^PI~222^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS||DUPONT^JEAN^PIERRE~MARTIN^JEAN^^^^^B",
        "OBX|1|NM|GLU^Glucose^L||5.5|mmol/L",
        "OBX|2|ST|NA^Sodium^L||140",
        "OBX|3|TX|NOTE^Note^L||third");

    [Theory]
    [InlineData("PID-3", "111^^^HOSP&1.2.3&ISO^PI")]
    [InlineData("PID-3.1", "111")]
    [InlineData("PID-3[2]", "222^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS")]
    [InlineData("PID-3[2].4.2", "1.2.250.1.213.1.4.8")]
    [InlineData("PID-3[2].4", "ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO")]
    [InlineData("PID-5.1", "DUPONT")]
    [InlineData("PID-5[2].7", "B")]
    [InlineData("OBX-5", "5.5")]
    [InlineData("OBX[1]-5", "5.5")]
    [InlineData("OBX[3]-5", "third")]
    [InlineData("MSH-9.2", "R01")]
    [InlineData("MSH-9", "ORU^R01^ORU_R01")]
    [InlineData("MSH-12", "2.5.1")]
    public void Path_reads_the_decoded_value(string path, string expected)
    {
        Assert.Equal(expected, Oru.Get(path));
    }

    [Theory]
    [InlineData("PID-4")]
    [InlineData("PID-3[3]")]
    [InlineData("PID-3.9")]
    [InlineData("PID-3.1.2")]
    [InlineData("OBX[4]-5")]
    [InlineData("ZZZ-1")]
    [InlineData("PID-99")]
    public void Absent_or_empty_value_is_null(string path)
    {
        Assert.Null(Oru.Get(path));
    }

    [Fact]
    public void Precompiled_path_reads_the_same_value()
    {
        Assert.True(Hl7Path.TryParse("PID-3[2].4.2", out var path, out var error));
        Assert.Null(error);
        Assert.Equal(new Hl7Path("PID", 1, 3, 2, 4, 2), path);
        Assert.Equal("1.2.250.1.213.1.4.8", Oru.Get(path));
        Assert.Equal("PID-3[2].4.2", path.ToString());
        Assert.Equal("OBX[3]-5", Hl7Path.Parse("OBX[3]-5").ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("PID")]
    [InlineData("PID-")]
    [InlineData("PID-0")]
    [InlineData("pid-3")]
    [InlineData("PID-3.")]
    [InlineData("PID-3[0]")]
    [InlineData("PID[2-3")]
    [InlineData("PID-3.1.2.3")]
    [InlineData("PI-3")]
    [InlineData("PID-3x")]
    public void Malformed_path_is_refused_with_a_reason(string text)
    {
        Assert.False(Hl7Path.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<ArgumentException>(() => Oru.Get(text));
    }

    [Fact]
    public void Segments_named_lists_every_occurrence()
    {
        Assert.Equal(["1", "2", "3"], Oru.SegmentsNamed("OBX").Select(s => s.GetField(1).Value).ToArray());
        Assert.True(Oru.TryGetSegment("OBX", 2, out var second));
        Assert.Equal("140", second.GetValue(5));
    }

    [Fact]
    public void Field_navigation_counts_repetitions_components_and_subcomponents()
    {
        Assert.True(Oru.TryGetSegment("PID", out var pid));
        var ids = pid.GetField(3);
        Assert.Equal(2, ids.RepetitionCount);
        Assert.Equal(5, ids.ComponentCount); // of the first repetition
        var ins = ids.GetRepetition(2);
        Assert.Equal(5, ins.ComponentCount);
        Assert.Equal(3, ins.GetComponent(4).SubComponentCount);
        Assert.Equal("ISO", ins.GetComponent(4).GetSubComponent(3).Value);
        Assert.Equal("111", ids.GetComponent(1).Value);
        Assert.Equal("111", ids.GetSubComponent(1).Value);
        Assert.Equal("HOSP", ids.GetComponent(4).GetSubComponent(1).Value);
        Assert.True(ids.GetRepetition(3).IsEmpty);
        Assert.Equal(0, pid.GetField(4).RepetitionCount);
        Assert.Equal("111", ids.GetComponent(1).GetComponent(1).Value);
        Assert.True(ids.GetComponent(1).GetComponent(2).IsEmpty);
        Assert.Equal("111^^^HOSP&1.2.3&ISO^PI", ids.GetRepetition(1).ToString());
    }

    [Fact]
    public void Explicit_null_is_recognised()
    {
        var m = Parse("MSH|^~\\&|A", "PID|1||\"\"|x");
        var f = m.GetSegment(1).GetField(3);
        Assert.True(f.IsNull);
        Assert.False(f.IsEmpty);
        Assert.Equal("\"\"", f.Value);
        Assert.Equal("\"\"", m.Get("PID-3"));
        Assert.False(m.GetSegment(1).GetField(4).IsNull);
    }

    [Fact]
    public void Default_elements_are_empty_and_do_not_throw()
    {
        var f = default(Hl7Field);
        Assert.True(f.IsEmpty);
        Assert.Equal("", f.Value);
        Assert.True(f.GetRepetition(2).GetComponent(3).GetSubComponent(4).IsEmpty);
        var s = default(Hl7Segment);
        Assert.Equal("", s.Id);
        Assert.True(s.GetField(3).IsEmpty);
    }

    [Fact]
    public void Numbers_below_one_are_programmer_errors()
    {
        Assert.True(Oru.TryGetSegment("PID", out var pid));
        Assert.Throws<ArgumentOutOfRangeException>(() => pid.GetField(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pid.GetField(3).GetComponent(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Oru.GetSegment(99));
    }
}
