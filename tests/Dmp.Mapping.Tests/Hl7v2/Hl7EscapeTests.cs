using System.Text;
using Dmp.Mapping.Hl7v2;
using static Dmp.Mapping.Tests.Hl7v2.Hl7TestMessages;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7EscapeTests
{
    private static string Read(string escaped, string header = "MSH|^~\\&|A")
    {
        var m = Parse(header, "NTE|1||" + escaped + "|end");
        return m.GetSegment(1).GetField(3).Value;
    }

    [Fact]
    public void Escaped_field_separator_is_decoded() => Assert.Equal("a|b", Read("a\\F\\b"));

    [Fact]
    public void Escaped_component_separator_is_decoded() => Assert.Equal("a^b", Read("a\\S\\b"));

    [Fact]
    public void Escaped_subcomponent_separator_is_decoded() => Assert.Equal("A&E", Read("A\\T\\E"));

    [Fact]
    public void Escaped_repetition_separator_is_decoded() => Assert.Equal("a~b", Read("a\\R\\b"));

    [Fact]
    public void Escaped_escape_character_is_decoded() => Assert.Equal("C:\\dir", Read("C:\\E\\dir"));

    [Fact]
    public void Escaped_values_do_not_split_components()
    {
        var m = Parse("MSH|^~\\&|A", "PID|1||a\\S\\b^c");
        Assert.Equal("a^b", m.Get("PID-3.1"));
        Assert.Equal("c", m.Get("PID-3.2"));
    }

    [Fact]
    public void Truncation_escape_is_the_declared_truncation_character() => Assert.Equal("abc#", Read("abc\\P\\", "MSH|^~\\&#|A"));

    [Fact]
    public void Truncation_escape_without_a_declared_character_is_kept() => Assert.Equal("abc\\P\\", Read("abc\\P\\"));

    [Fact]
    public void Hex_escape_is_decoded_with_the_message_charset()
    {
        Assert.Equal("caf\u00e9", Read("caf\\XC3A9\\", "MSH|^~\\&|A|||||||||||||||UNICODE UTF-8"));
        Assert.Equal("caf\u00e9", Read("caf\\XE9\\", "MSH|^~\\&|A|||||||||||||||8859/1"));
        Assert.Equal("line1\r\nline2", Read("line1\\X0D0A\\line2"));
        Assert.Equal("\u20ac", Read("\\XA4\\", "MSH|^~\\&|A|||||||||||||||8859/15"));
    }

    [Fact]
    public void Malformed_hex_escape_is_kept_verbatim()
    {
        Assert.Equal("\\XZZ\\", Read("\\XZZ\\"));
        Assert.Equal("\\XABC\\", Read("\\XABC\\"));
        Assert.Equal("\\X\\", Read("\\X\\"));
    }

    [Fact]
    public void Highlight_escapes_are_dropped_from_plain_text() => Assert.Equal("very important", Read("very \\H\\important\\N\\"));

    [Fact]
    public void Line_break_escape_becomes_a_newline() => Assert.Equal("one\ntwo", Read("one\\.br\\two"));

    [Fact]
    public void Space_escape_becomes_newlines()
    {
        Assert.Equal("a\nb", Read("a\\.sp\\b"));
        Assert.Equal("a\n\n\nb", Read("a\\.sp 3\\b"));
        Assert.Equal("a\n\nb", Read("a\\.sp2\\b"));
    }

    [Fact]
    public void Indent_and_centre_escapes_are_dropped()
    {
        Assert.Equal("ab", Read("a\\.in+4\\b"));
        Assert.Equal("ab", Read("a\\.ti-2\\b"));
        Assert.Equal("ab", Read("a\\.ce\\b"));
        Assert.Equal("ab", Read("a\\.in\\b"));
        Assert.Equal("abc", Read("a\\.fi\\b\\.nf\\c"));
    }

    [Fact]
    public void Charset_switch_and_unknown_escapes_are_kept_verbatim()
    {
        Assert.Equal("x\\C2842\\y", Read("x\\C2842\\y"));
        Assert.Equal("x\\M2442\\y", Read("x\\M2442\\y"));
        Assert.Equal("x\\Zcustom\\y", Read("x\\Zcustom\\y"));
        Assert.Equal("x\\Q\\y", Read("x\\Q\\y"));
        Assert.Equal("x\\.zz\\y", Read("x\\.zz\\y"));
    }

    [Fact]
    public void Lone_escape_character_is_literal()
    {
        Assert.Equal("a\\b", Read("a\\b"));
        Assert.Equal("end\\", Read("end\\"));
        Assert.Equal("a|b\\c", Read("a\\F\\b\\c"));
    }

    [Fact]
    public void Several_escapes_in_one_value_are_all_decoded() =>
        Assert.Equal("A&E | ^ ~ \\ done\n", Read("A\\T\\E \\F\\ \\S\\ \\R\\ \\E\\ done\\.br\\"));

    [Fact]
    public void Escapes_use_the_message_escape_character()
    {
        var m = Parse("MSH#@*$%#A", "NTE#1##a$F$b$S$c");
        Assert.Equal("a#b@c", m.Get("NTE-3"));
    }

    [Fact]
    public void Msh2_is_never_unescaped()
    {
        var m = Parse("MSH|^~\\&|A");
        Assert.Equal("^~\\&", m.GetSegment(0).GetField(2).Value);
    }

    [Fact]
    public void Encoder_escape_writes_delimiters_as_sequences()
    {
        var d = Hl7Delimiters.Default;
        Assert.Equal("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", Hl7Encoder.Escape("a|b^c&d~e\\f", d));
        Assert.Equal("l1\\X0D\\\\X0A\\l2", Hl7Encoder.Escape("l1\r\nl2", d));
        Assert.Equal("l1\\.br\\l2\\.br\\l3", Hl7Encoder.Escape("l1\r\nl2\nl3", d, lineBreaksAsBr: true));
        Assert.Equal("plain", Hl7Encoder.Escape("plain", d));
        Assert.Equal("", Hl7Encoder.Escape(null, d));
    }

    [Fact]
    public void Encoder_escape_without_escape_character_replaces_delimiters_with_spaces()
    {
        var d = new Hl7Delimiters((byte)'|', (byte)'^', (byte)'~', 0, 0);
        Assert.Equal("a b c", Hl7Encoder.Escape("a|b^c", d));
    }

    [Fact]
    public void Encoder_unescape_inverts_escape()
    {
        var d = Hl7Delimiters.Default;
        const string text = "x|y^z&w~v\\u\r\nend é";
        Assert.Equal(text, Hl7Encoder.Unescape(Hl7Encoder.Escape(text, d), d));
    }

    [Fact]
    public void Value_without_escapes_is_decoded_directly()
    {
        var m = Parse(Encoding.UTF8.GetBytes("MSH|^~\\&|A\rPID|1||Zoé\r"));
        Assert.Equal("Zoé", m.Get("PID-3"));
    }
}
