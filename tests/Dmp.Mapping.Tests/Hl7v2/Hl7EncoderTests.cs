using System.Text;
using Dmp.Mapping.Hl7v2;
using static Dmp.Mapping.Tests.Hl7v2.Hl7TestMessages;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7EncoderTests
{
    [Fact]
    public void Canonical_message_encodes_byte_identical()
    {
        var bytes = Cr(AdtHeader, "PID|1||A\\T\\B~C||DUPONT^JEAN", "ZFA|ACTIF||||||||INO");
        Assert.Equal(bytes, Hl7Encoder.Encode(Parse(bytes)));
    }

    [Fact]
    public void Encoding_normalises_line_ends_bom_and_blank_lines()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "MSH|^~\\&|A\r\n\r\nPID|1\nPV1|1"u8];
        Assert.Equal("MSH|^~\\&|A\rPID|1\rPV1|1\r"u8.ToArray(), Hl7Encoder.Encode(Parse(bytes)));
    }

    [Fact]
    public void Encoding_keeps_the_message_charset_bytes()
    {
        byte[] bytes = [.. "MSH|^~\\&|A|||||||||||||||8859/1\rPID|1||"u8, 0xE9, (byte)'\r'];
        Assert.Equal(bytes, Hl7Encoder.Encode(Parse(bytes)));
    }

    [Fact]
    public void Writer_builds_segments_with_escaped_values()
    {
        var w = new Hl7MessageWriter();
        w.Segment("MSH").Field("SENDER").Field("FAC");
        w.Segment("PID", "1", null, "a|b");
        w.Segment("OBX").Field("1").Components("CODE", "Text ^ here", "LN", null, "");
        w.Segment("NTE").Field("1").Field(null).Field(null);
        var text = Encoding.UTF8.GetString(w.ToArray());
        Assert.Equal("MSH|^~\\&|SENDER|FAC\rPID|1||a\\F\\b\rOBX|1|CODE^Text \\S\\ here^LN\rNTE|1\r", text);
        var m = Parse(w.ToArray());
        Assert.Equal("a|b", m.Get("PID-3"));
        Assert.Equal("Text ^ here", m.Get("OBX-2.2"));
    }

    [Fact]
    public void Writer_copies_raw_fields_as_given()
    {
        var w = new Hl7MessageWriter(Hl7Delimiters.Default, Encoding.Latin1);
        w.Segment("ZZZ").RawField("a^b&c").RawField([0xE9]).Field("é");
        byte[] expected = [.. "ZZZ|a^b&c|"u8, 0xE9, (byte)'|', 0xE9, (byte)'\r'];
        Assert.Equal(expected, w.ToArray());
    }

    [Fact]
    public void Writer_refuses_fields_before_a_segment()
    {
        Assert.Throws<InvalidOperationException>(() => new Hl7MessageWriter().Field("x"));
        Assert.Throws<ArgumentException>(() => new Hl7MessageWriter().Segment("PIDX"));
    }
}
