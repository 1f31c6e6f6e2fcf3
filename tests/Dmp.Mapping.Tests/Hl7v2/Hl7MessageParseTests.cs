using System.Text;
using Dmp.Mapping.Hl7v2;
using static Dmp.Mapping.Tests.Hl7v2.Hl7TestMessages;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7MessageParseTests
{
    [Fact]
    public void Segments_are_found_with_their_ids_and_positions()
    {
        var m = Parse(AdtHeader, "EVN||20240306111154", "PID|1||123^^^CHU-X^PI||DUPONT^JEAN", "PV1|1|I");
        Assert.Equal(4, m.SegmentCount);
        Assert.Equal(["MSH", "EVN", "PID", "PV1"], m.Segments.Select(s => s.Id).ToArray());
        Assert.Equal(2, m.GetSegment(2).Index);
        Assert.True(m.TryGetSegment("PID", out var pid));
        Assert.Equal("PID|1||123^^^CHU-X^PI||DUPONT^JEAN", Encoding.ASCII.GetString(pid.RawBytes));
        Assert.False(m.TryGetSegment("OBX", out _));
    }

    [Fact]
    public void Segment_ids_are_shared_strings()
    {
        var a = Parse(AdtHeader, "PID|1");
        var b = Parse(AdtHeader, "PID|2");
        Assert.Same(a.GetSegment(1).Id, b.GetSegment(1).Id);
    }

    [Fact]
    public void Msh_fields_use_hl7_numbering()
    {
        var m = Parse(AdtHeader);
        var msh = m.GetSegment(0);
        Assert.Equal("|", msh.GetField(1).Value);
        Assert.Equal("^~\\&", msh.GetField(2).Value);
        Assert.Equal("GAM", msh.GetField(3).Value);
        Assert.Equal("ADT", msh.GetField(9).GetComponent(1).Value);
        Assert.Equal(21, msh.FieldCount);
        Assert.Equal("|", m.Get("MSH-1"));
        Assert.Equal("^~\\&", m.Get("MSH-2"));
    }

    [Fact]
    public void Field_count_includes_trailing_empty_fields()
    {
        var m = Parse(AdtHeader, "PID|1||123||");
        Assert.Equal(5, m.GetSegment(1).FieldCount);
        Assert.True(m.GetSegment(1).GetField(5).IsEmpty);
        Assert.True(m.GetSegment(1).GetField(50).IsEmpty);
    }

    [Fact]
    public void Header_shortcuts_read_msh()
    {
        var m = Parse("MSH|^~\\&|APP^1.2.3^ISO|FAC^^|RCV|RFAC|20240306111154||ORU^R01^ORU_R01|CTRL-1|P^T|2.5.1^FRA|||AL|NE||8859/1|||P1^IHE~P2");
        Assert.Equal("APP^1.2.3^ISO", m.SendingApplication);
        Assert.Equal("FAC", m.SendingFacility);
        Assert.Equal("RCV", m.ReceivingApplication);
        Assert.Equal("RFAC", m.ReceivingFacility);
        Assert.Equal("ORU", m.MessageType);
        Assert.Equal("R01", m.TriggerEvent);
        Assert.Equal("ORU_R01", m.MessageStructure);
        Assert.Equal("CTRL-1", m.ControlId);
        Assert.Equal("P", m.ProcessingId);
        Assert.Equal("2.5.1", m.Version);
        Assert.Equal("AL", m.AcceptAckType);
        Assert.Equal("NE", m.ApplicationAckType);
        Assert.Equal("8859/1", m.CharsetName);
        Assert.Equal(["P1^IHE", "P2"], m.ProfileIds);
        Assert.True(m.IsEnhancedAckMode);
    }

    [Fact]
    public void Absent_header_fields_are_null()
    {
        var m = Parse("MSH|^~\\&|||||||ADT");
        Assert.Null(m.SendingApplication);
        Assert.Null(m.TriggerEvent);
        Assert.Null(m.ControlId);
        Assert.Null(m.Version);
        Assert.Null(m.CharsetName);
        Assert.Empty(m.ProfileIds);
        Assert.False(m.IsEnhancedAckMode);
    }

    [Fact]
    public void Mixed_line_endings_split_segments()
    {
        var m = Parse(Encoding.ASCII.GetBytes("MSH|^~\\&|A\rEVN|1\nPID|1\r\nPV1|1\r\n"));
        Assert.Equal(["MSH", "EVN", "PID", "PV1"], m.Segments.Select(s => s.Id).ToArray());
        Assert.Equal("1", m.Get("PV1-1"));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Each_line_ending_style_splits_segments(string eol)
    {
        var m = Parse(Encoding.ASCII.GetBytes($"MSH|^~\\&|A{eol}PID|1{eol}PV1|2{eol}"));
        Assert.Equal(3, m.SegmentCount);
        Assert.Equal("2", m.Get("PV1-1"));
    }

    [Fact]
    public void Missing_final_terminator_is_fine()
    {
        var m = Parse(Encoding.ASCII.GetBytes("MSH|^~\\&|A\rPID|1||42"));
        Assert.Equal("42", m.Get("PID-3"));
    }

    [Fact]
    public void Blank_lines_are_ignored()
    {
        var m = Parse(Encoding.ASCII.GetBytes("\r\n\r\nMSH|^~\\&|A\r\r\n\nPID|1\n   \n\n\n"));
        Assert.Equal(2, m.SegmentCount);
    }

    [Fact]
    public void Utf8_bom_is_skipped()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.ASCII.GetBytes("MSH|^~\\&|A|B\rPID|1")).ToArray();
        var m = Parse(bytes);
        Assert.Equal("MSH", m.GetSegment(0).Id);
        Assert.Equal("A", m.SendingApplication);
        Assert.Same(Hl7Charsets.Utf8, m.Encoding);
    }

    [Fact]
    public void Mllp_framing_bytes_around_a_message_are_ignored()
    {
        var bytes = new byte[] { 0x0B }.Concat(Encoding.ASCII.GetBytes("MSH|^~\\&|A\rPID|1\r")).Concat(new byte[] { 0x1C, 0x0D }).ToArray();
        Assert.Equal(2, Parse(bytes).SegmentCount);
    }

    [Fact]
    public void Raw_is_the_input_untouched()
    {
        var bytes = Encoding.ASCII.GetBytes("\nMSH|^~\\&|A\r\nPID|1\n");
        var m = Parse(bytes);
        Assert.True(m.Raw.Span.SequenceEqual(bytes));
    }

    [Fact]
    public void Default_delimiters_are_shared()
    {
        var m = Parse(AdtHeader);
        Assert.Same(Hl7Delimiters.Default, m.Delimiters);
        Assert.Equal("^~\\&", m.Delimiters.EncodingCharacters);
        Assert.Null(m.Delimiters.Truncation);
    }

    [Fact]
    public void Non_standard_delimiters_are_honoured()
    {
        var m = Parse("MSH#@*$%#APP#FAC", "PID#1##A@B@C*D%x%y##X");
        Assert.Equal((byte)'#', m.Delimiters.Field);
        Assert.Equal((byte)'@', m.Delimiters.Component);
        Assert.Equal((byte)'*', m.Delimiters.Repetition);
        Assert.Equal((byte)'$', m.Delimiters.Escape);
        Assert.Equal((byte)'%', m.Delimiters.SubComponent);
        Assert.Equal("APP", m.SendingApplication);
        Assert.Equal("B", m.Get("PID-3.2"));
        Assert.Equal("D", m.Get("PID-3[2].1.1"));
        Assert.Equal("y", m.Get("PID-3[2].1.3"));
        Assert.Equal("X", m.Get("PID-5"));
        Assert.Equal("#", m.Get("MSH-1"));
        Assert.Equal("@*$%", m.Get("MSH-2"));
    }

    [Fact]
    public void Five_character_msh2_declares_a_truncation_character()
    {
        var m = Parse("MSH|^~\\&#|A", "NTE|1||cut here\\P\\");
        Assert.Equal((byte)'#', m.Delimiters.Truncation);
        Assert.Equal("^~\\&#", m.Delimiters.EncodingCharacters);
        Assert.Equal("cut here#", m.Get("NTE-3"));
    }

    [Fact]
    public void Three_character_msh2_has_no_subcomponent_delimiter()
    {
        var m = Parse("MSH|^~\\|A", "PID|1||a&b^c");
        Assert.False(m.Delimiters.HasSubComponent);
        Assert.Equal("a&b", m.Get("PID-3.1"));
        Assert.Equal("a&b", m.Get("PID-3.1.1"));
        Assert.Null(m.Get("PID-3.1.2"));
    }

    [Fact]
    public void Two_character_msh2_has_no_escape_and_no_subcomponent()
    {
        var m = Parse("MSH|^~|A", "PID|1||a\\F\\b~c");
        Assert.False(m.Delimiters.HasEscape);
        Assert.True(m.Delimiters.HasRepetition);
        Assert.Equal("a\\F\\b", m.Get("PID-3"));
        Assert.Equal("c", m.Get("PID-3[2]"));
    }

    [Fact]
    public void One_character_msh2_has_no_repetition()
    {
        var m = Parse("MSH|^|A", "PID|1||a~b^c");
        Assert.False(m.Delimiters.HasRepetition);
        Assert.Equal(1, m.GetSegment(1).GetField(3).RepetitionCount);
        Assert.Equal("a~b", m.Get("PID-3.1"));
    }

    [Fact]
    public void Empty_input_is_an_error_value()
    {
        var e = ParseError([]);
        Assert.Equal("empty message", e.Reason);
        Assert.Equal("empty message", ParseError(Encoding.ASCII.GetBytes(" \r\n\r\n")).Reason);
    }

    [Fact]
    public void Input_without_msh_is_an_error_naming_segment_1()
    {
        var e = ParseError(Encoding.ASCII.GetBytes("PID|1||123\r"));
        Assert.Equal(1, e.SegmentIndex);
        Assert.Equal("segment 1: no MSH segment", e.ToString());
    }

    [Fact]
    public void Binary_garbage_is_not_hl7()
    {
        var e = ParseError([0x00, 0xFF, 0x12, 0x34, 0x89]);
        Assert.StartsWith("not HL7 v2: binary data", e.Reason);
        Assert.StartsWith("not HL7 v2", ParseError(Encoding.ASCII.GetBytes("<?xml version=\"1.0\"?>")).Reason);
    }

    [Fact]
    public void Bad_segment_id_is_an_error_with_its_position()
    {
        var e = ParseError(Cr(AdtHeader, "EVN|1", "pid|1"));
        Assert.Equal(3, e.SegmentIndex);
        Assert.Contains("invalid segment id", e.Reason);
        Assert.Equal(2, ParseError(Cr(AdtHeader, "PIDX|1")).SegmentIndex);
        Assert.Equal(2, ParseError(Cr(AdtHeader, "P")).SegmentIndex);
    }

    [Fact]
    public void Invalid_encoding_characters_are_an_error_on_msh2()
    {
        var e = ParseError(Encoding.ASCII.GetBytes("MSH|^^\\&|A\r"));
        Assert.Equal(1, e.SegmentIndex);
        Assert.Equal("MSH", e.SegmentId);
        Assert.Equal(2, e.Field);
        Assert.Equal(1, ParseError(Encoding.ASCII.GetBytes("MSHA^~\\&|A\r")).Field);
        Assert.Contains("MSH-1", ParseError(Encoding.ASCII.GetBytes("MSH")).Reason);
    }

    [Fact]
    public void Batch_envelope_is_refused_by_parse_and_left_to_batch_split()
    {
        var e = ParseError(Cr("FHS|^~\\&|A", "BHS|^~\\&|A", "MSH|^~\\&|A", "BTS|1", "FTS|1"));
        Assert.Equal(1, e.SegmentIndex);
        Assert.Equal("FHS", e.SegmentId);
        Assert.Contains("Hl7Batch.Split", e.Reason);
        var trailer = ParseError(Cr("MSH|^~\\&|A", "PID|1", "BTS|1"));
        Assert.Equal(3, trailer.SegmentIndex);
    }

    [Fact]
    public void Second_msh_is_refused_by_parse()
    {
        var e = ParseError(Cr("MSH|^~\\&|A", "PID|1", "MSH|^~\\&|B"));
        Assert.Equal(3, e.SegmentIndex);
        Assert.Equal("MSH", e.SegmentId);
    }

    [Fact]
    public void Error_text_leaves_out_unknown_parts()
    {
        Assert.Equal("segment 3 (PID) field 5: bad", new Hl7Error(3, "PID", 5, "bad").ToString());
        Assert.Equal("segment 1: no MSH segment", new Hl7Error(1, null, 0, "no MSH segment").ToString());
        Assert.Equal("empty message", new Hl7Error(0, null, 0, "empty message").ToString());
        Assert.Equal("segment 2 field 4: x", new Hl7Error(2, null, 4, "x").ToString());
    }

    [Fact]
    public void Message_is_safe_to_read_from_many_threads()
    {
        var m = Parse(AdtHeader, "PID|1||A~B~C||DOE^JOHN");
        Parallel.For(0, 200, i =>
        {
            Assert.Equal("B", m.Get("PID-3[2]"));
            Assert.Equal("JOHN", m.Get("PID-5.2"));
        });
    }
}
