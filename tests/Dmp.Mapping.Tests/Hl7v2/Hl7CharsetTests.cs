using System.Text;
using Dmp.Mapping.Hl7v2;
using static Dmp.Mapping.Tests.Hl7v2.Hl7TestMessages;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7CharsetTests
{
    private static byte[] Message(string msh18, byte[] name)
    {
        var head = Encoding.ASCII.GetBytes($"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||||FRA|{msh18}\rPID|1||42||");
        var tail = Encoding.ASCII.GetBytes("^JEAN\r");
        return [.. head, .. name, .. tail];
    }

    private static readonly byte[] HeloiseLatin1 = [(byte)'H', 0xE9, (byte)'l', (byte)'o', 0xEF, (byte)'s', (byte)'e'];

    [Fact]
    public void Latin1_bytes_without_msh18_are_read_as_latin1()
    {
        var m = Parse(Message("", HeloiseLatin1));
        Assert.Equal("Héloïse", m.Get("PID-5.1"));
        Assert.Equal(Encoding.Latin1.CodePage, m.Encoding.CodePage);
        Assert.DoesNotContain('\uFFFD', m.Get("PID-5.1")!);
    }

    [Fact]
    public void Utf8_bytes_without_msh18_are_read_as_utf8()
    {
        var m = Parse(Message("", Encoding.UTF8.GetBytes("Héloïse")));
        Assert.Equal("Héloïse", m.Get("PID-5.1"));
        Assert.Equal(Encoding.UTF8.CodePage, m.Encoding.CodePage);
    }

    [Fact]
    public void Declared_8859_1_is_latin1()
    {
        var m = Parse(Message("8859/1", HeloiseLatin1));
        Assert.Equal("Héloïse", m.Get("PID-5.1"));
        Assert.Equal("8859/1", m.CharsetName);
        Assert.False(m.CharsetFallback);
    }

    [Theory]
    [InlineData("UNICODE UTF-8")]
    [InlineData("UTF-8")]
    [InlineData("UNICODE")]
    [InlineData("unicode utf-8")]
    public void Declared_utf8_names_are_utf8(string name)
    {
        var m = Parse(Message(name, Encoding.UTF8.GetBytes("Zoé Ōno")));
        Assert.Equal("Zoé Ōno", m.Get("PID-5.1"));
        Assert.Equal(Encoding.UTF8.CodePage, m.Encoding.CodePage);
    }

    [Fact]
    public void Declared_8859_15_decodes_the_latin9_characters()
    {
        // € Š š Ž ž Œ œ Ÿ differ from Latin-1; é does not.
        byte[] name = [0xA4, 0xA6, 0xA8, 0xB4, 0xB8, 0xBC, 0xBD, 0xBE, 0xE9];
        var m = Parse(Message("8859/15", name));
        Assert.Equal("€ŠšŽžŒœŸé", m.Get("PID-5.1"));
        Assert.Equal("iso-8859-15", m.Encoding.WebName);
    }

    [Fact]
    public void Latin9_encoding_round_trips_its_characters()
    {
        var text = "€ŠšŽžŒœŸ àéîõü";
        var bytes = Hl7Charsets.Latin9.GetBytes(text);
        Assert.Equal(text.Length, bytes.Length);
        Assert.Equal(text, Hl7Charsets.Latin9.GetString(bytes));
        Assert.Equal((byte)'?', Hl7Charsets.Latin9.GetBytes("¤")[0]); // Latin-1's currency sign is not in Latin-9
    }

    [Fact]
    public void Declared_ascii_with_ascii_bytes_is_ascii()
    {
        var m = Parse(Message("ASCII", "DUPONT"u8.ToArray()));
        Assert.Equal(Encoding.ASCII.CodePage, m.Encoding.CodePage);
        Assert.False(m.CharsetFallback);
    }

    [Fact]
    public void Declared_utf8_contradicted_by_latin1_bytes_falls_back_to_latin1()
    {
        var m = Parse(Message("UNICODE UTF-8", HeloiseLatin1));
        Assert.Equal("Héloïse", m.Get("PID-5.1"));
        Assert.True(m.CharsetFallback);
    }

    [Fact]
    public void Unknown_charset_name_falls_back_to_what_the_bytes_are()
    {
        var m = Parse(Message("EBCDIC-WHATEVER", HeloiseLatin1));
        Assert.Equal("Héloïse", m.Get("PID-5.1"));
        Assert.True(m.CharsetFallback);
        Assert.Equal("EBCDIC-WHATEVER", m.CharsetName);
    }

    [Fact]
    public void Repeated_msh18_uses_the_first_repetition()
    {
        var m = Parse(Message("8859/1~UNICODE UTF-8", HeloiseLatin1));
        Assert.Equal("Héloïse", m.Get("PID-5.1"));
        Assert.Equal("8859/1", m.CharsetName);
    }
}
