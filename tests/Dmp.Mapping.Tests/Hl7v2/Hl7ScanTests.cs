using System.Text;
using CsCheck;
using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Mapping.Rules;

namespace Dmp.Mapping.Tests.Hl7v2;

/// <summary>The reader's fast paths (block scans, field runs, whole-HD decoding) give what the plain loops give.</summary>
public class Hl7ScanTests
{
    // Lengths across the 16- and 32-byte blocks and their tails; few distinct bytes, so separators are frequent.
    private static readonly Gen<byte[]> Bytes = Gen.OneOf(Gen.Byte[(byte)'a', (byte)'d'], Gen.Const((byte)'|'), Gen.Const((byte)'^')).Array[0, 150];

    [Fact]
    public void Nth_occurrence_is_found_as_a_loop_finds_it()
    {
        Gen.Select(Bytes, Gen.Int[1, 80]).Sample((bytes, nth) =>
            Assert.Equal(NthByLoop(bytes, (byte)'|', nth), Hl7Scan.IndexOfNth(bytes, (byte)'|', nth)), iter: 5000);
    }

    [Fact]
    public void Every_occurrence_is_listed_in_order()
    {
        Gen.Select(Bytes, Gen.Int[0, 1000]).Sample((bytes, offset) =>
        {
            var expected = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] == (byte)'^').Select(i => i + offset).ToArray();
            var actual = new int[bytes.Length];
            var n = Hl7Scan.IndexesOf(bytes, (byte)'^', actual, offset);
            Assert.Equal(expected, actual[..n]);
        }, iter: 5000);
    }

    [Fact]
    public void Pieces_are_the_pieces_of_a_split()
    {
        Gen.Select(Bytes, Gen.Int[1, 80]).Sample((bytes, n) =>
        {
            var pieces = Encoding.Latin1.GetString(bytes).Split('|');
            var found = Hl7Scan.TryGetPiece(bytes, (byte)'|', n, out var offset, out var length);
            Assert.Equal(n <= pieces.Length, found);
            if (found)
                Assert.Equal(pieces[n - 1], Encoding.Latin1.GetString(bytes, offset, length));
        }, iter: 5000);
    }

    // HD components with escapes, sub-components, empty parts and non-ASCII text.
    private static readonly Gen<string> HdPart = Gen.OneOf(
        Gen.Const(""), Gen.Const("CHU-X"), Gen.Const("1.2.250.1.71.4.2.2"), Gen.Const("ISO"), Gen.Const("A&B"), Gen.Const("x\\S\\y"),
        Gen.Const("Hôpital"), Gen.Const("\\"), Gen.Const("\\T\\"));

    [Fact]
    public void Sending_application_and_facility_join_their_decoded_components()
    {
        Gen.Select(HdPart.Array[0, 5], HdPart.Array[0, 5], Gen.Bool).Sample((app, facility, latin1) =>
        {
            var text = $"MSH|^~\\&|{string.Join('^', app)}|{string.Join('^', facility)}|||20240306||ADT^A01|1|P|2.5\rPID|1\r";
            var bytes = latin1 ? Encoding.Latin1.GetBytes(text) : Encoding.UTF8.GetBytes(text);
            var message = Hl7Message.Parse(bytes).Message!;
            var msh = message.GetSegment(0);
            Assert.Equal(JoinedHd(msh.GetField(3)), message.SendingApplication);
            Assert.Equal(JoinedHd(msh.GetField(4)), message.SendingFacility);
        }, iter: 3000);
    }

    [Fact]
    public void Hd_text_with_another_component_separator_is_still_written_with_carets()
    {
        var message = Hl7Message.Parse("MSH#@*$%#GAM@1.2.3@ISO#CHU-X@@\rPID#1\r"u8.ToArray()).Message!;

        Assert.Equal("GAM^1.2.3^ISO", message.SendingApplication);
        Assert.Equal("CHU-X", message.SendingFacility);
    }

    [Theory]
    [InlineData("hl7v2/fhirconv_ADT-A01-01.hl7")]
    [InlineData("hl7v2/french/ans_PAMFR_SGL_admission_A01.er7")]
    [InlineData("hl7v2/rubyhl7_nist_ORU_R01_2.5.1_SampleTestCase1.er7")]
    public void A_runs_fields_are_the_segments_fields(string file)
    {
        var message = Hl7Message.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", file))).Message!;
        var run = new MapRun(message, HeaderReader.Read("test", message));
        try
        {
            for (var s = message.SegmentCount - 1; s >= 0; s--)
            {
                var segment = message.GetSegment(s);
                for (var f = 1; f <= segment.FieldCount + 2; f++)
                {
                    var expected = segment.GetField(f);
                    var actual = run.Field(s, f);
                    Assert.True(expected.RawBytes.SequenceEqual(actual.RawBytes), $"{segment.Id}-{f}");
                    Assert.Equal(expected.Value, actual.Value);
                    Assert.Equal(expected.RepetitionCount, actual.RepetitionCount);
                    Assert.Equal(expected.GetComponent(2).Value, actual.GetComponent(2).Value);
                }
            }
        }
        finally
        {
            run.Release();
        }
    }

    [Fact]
    public void Ascii_values_decode_alike_in_every_charset()
    {
        var ascii = "MSH|^~\\&|A|B|||20240306||ADT^A01|1|P|2.5|||||{0}\rZZZ|Plain text 123 ~^&|x\r";
        foreach (var charset in new[] { "ASCII", "8859/1", "8859/15", "UNICODE UTF-8" })
        {
            var message = Hl7Message.Parse(Encoding.ASCII.GetBytes(string.Format(null, ascii, charset))).Message!;
            Assert.Equal("Plain text 123 ", message.GetSegment(1).GetField(1).GetRepetition(1).Value);
            Assert.Equal("x", message.GetSegment(1).GetField(2).Value);
        }
    }

    private static int NthByLoop(byte[] bytes, byte value, int nth)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == value && --nth == 0)
                return i;
        }
        return -1;
    }

    /// <summary>The HD as text the plain way: decoded components 1..last non-empty, joined with '^'.</summary>
    private static string? JoinedHd(Hl7Field field)
    {
        var rep = field.GetRepetition(1);
        var count = rep.ComponentCount;
        while (count > 0 && rep.GetComponent(count).IsEmpty)
            count--;
        return count == 0 ? null : string.Join('^', Enumerable.Range(1, count).Select(i => rep.GetComponent(i).Value));
    }
}
