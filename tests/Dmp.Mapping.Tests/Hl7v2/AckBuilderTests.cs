using System.Text;
using Dmp.Mapping.Hl7v2;
using static Dmp.Mapping.Tests.Hl7v2.Hl7TestMessages;

namespace Dmp.Mapping.Tests.Hl7v2;

public class AckBuilderTests
{
    private static readonly AckBuildOptions Fixed = new()
    {
        ControlIdFactory = () => "ACK0001",
        Time = new FixedTime(new DateTimeOffset(2024, 3, 6, 11, 11, 54, TimeSpan.FromHours(1))),
    };

    private static string[] Segments(byte[] ack) => Encoding.UTF8.GetString(ack).TrimEnd('\r').Split('\r');

    [Fact]
    public void Accept_ack_swaps_sender_and_receiver_and_echoes_the_control_id()
    {
        var m = Parse("MSH|^~\\&|GAM|CHU-X|DPI|CHU-Y|20240306111154||ADT^A01^ADT_A01|3975|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8");
        var ack = AckBuilder.Build(m, AckCode.AA, options: Fixed);
        Assert.Equal(
            ["MSH|^~\\&|DPI|CHU-Y|GAM|CHU-X|20240306111154+0100||ACK^A01^ACK|ACK0001|P|2.5^FRA^2.11||||||UNICODE UTF-8", "MSA|AA|3975"],
            Segments(ack));
        var parsed = Parse(ack);
        Assert.Equal("ACK", parsed.MessageType);
        var reply = AckBuilder.ReadAck(parsed);
        Assert.Equal(AckCode.AA, reply.Code);
        Assert.Equal("3975", reply.AcknowledgedControlId);
        Assert.True(reply.IsAccepted);
    }

    [Fact]
    public void Error_ack_for_v23_uses_err1_element_location()
    {
        var m = Parse("MSH|^~\\&|LAB|FAC|DMP|FAC|20240101||ORU^R01|C42|P|2.3", "PID|1", "OBX|1", "OBX|2|NM|X||abc");
        var ack = AckBuilder.Build(m, AckCode.AE, new Hl7Error(4, "OBX", 5, "not a number"), options: Fixed);
        var segs = Segments(ack);
        Assert.Equal("MSA|AE|C42|segment 4 (OBX) field 5: not a number", segs[1]);
        Assert.Equal("ERR|OBX^2^5^102&Data type error&HL70357", segs[2]);
        var reply = AckBuilder.ReadAck(Parse(ack));
        Assert.Equal(AckCode.AE, reply.Code);
        Assert.Equal("segment 4 (OBX) field 5: not a number", reply.Text);
    }

    [Fact]
    public void Error_ack_for_v25_uses_err2_to_err8()
    {
        var m = Parse("MSH|^~\\&|LAB|FAC|DMP|FAC|20240101||ORU^R01^ORU_R01|C43|P|2.5.1", "PID|1");
        var ack = AckBuilder.Build(m, AckCode.AR, new Hl7Error(2, "PID", 3, "missing"), "Patient identifier | missing",
            new AckBuildOptions { ControlIdFactory = () => "X", Time = Fixed.Time, ErrorCode = Hl7ErrorCode.RequiredFieldMissing });
        var segs = Segments(ack);
        Assert.Equal("MSA|AR|C43", segs[1]);
        Assert.Equal("ERR||PID^1^3|101^Required field missing^HL70357|E|||segment 2 (PID) field 3: missing|Patient identifier \\F\\ missing", segs[2]);
        var reply = AckBuilder.ReadAck(Parse(ack));
        Assert.Equal(AckCode.AR, reply.Code);
        Assert.Equal("Patient identifier | missing", reply.Text);
        Assert.False(reply.IsAccepted);
    }

    [Fact]
    public void Negative_ack_without_error_detail_still_has_an_err_segment()
    {
        var m = Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.6");
        var segs = Segments(AckBuilder.Build(m, AckCode.AE, text: "store unavailable", options: Fixed));
        Assert.Equal("ERR|||207^Application internal error^HL70357|E||||store unavailable", segs[2]);
    }

    [Fact]
    public void Unsupported_message_type_code_can_be_chosen()
    {
        var m = Parse("MSH|^~\\&|A|B|C|D|20240101||XYZ^Z99|1|P|2.5");
        var segs = Segments(AckBuilder.Build(m, AckCode.AR, new Hl7Error(1, "MSH", 9, "no rule for XYZ^Z99"),
            options: new AckBuildOptions { ErrorCode = Hl7ErrorCode.UnsupportedMessageType, ControlIdFactory = () => "1", Time = Fixed.Time }));
        Assert.Contains("|200^Unsupported message type^HL70357|E|", segs[2]);
        Assert.StartsWith("ERR||MSH^1^9|", segs[2]);
    }

    [Fact]
    public void Ack_keeps_the_message_delimiters()
    {
        var m = Parse("MSH#@*$%#APP#FAC#RCV#RFAC#20240101##ADT@A08#9#P#2.4");
        var ack = AckBuilder.Build(m, AckCode.AE, new Hl7Error(1, "MSH", 9, "a#b"), options: Fixed);
        var segs = Segments(ack);
        Assert.StartsWith("MSH#@*$%#RCV#RFAC#APP#FAC#", segs[0]);
        Assert.Contains("#ACK@A08@ACK#", segs[0]);
        Assert.Equal("ERR#MSH@1@9@102%Data type error%HL70357", segs[2]);
        Assert.Contains("$F$", segs[1]);
        Assert.Equal(AckCode.AE, AckBuilder.ReadAck(Parse(ack)).Code);
    }

    [Fact]
    public void Ack_for_a_frame_that_is_not_hl7_uses_defaults()
    {
        var ack = AckBuilder.Build(null, AckCode.AR, new Hl7Error(0, null, 0, "not HL7 v2: binary data"), options: Fixed);
        var segs = Segments(ack);
        Assert.Equal("MSH|^~\\&|DMP-INGEST||||20240306111154+0100||ACK|ACK0001|P|2.5", segs[0]);
        Assert.Equal("MSA|AR", segs[1]);
        Assert.Equal("ERR|||207^Application internal error^HL70357|E|||not HL7 v2: binary data|not HL7 v2: binary data", segs[2]);
        Assert.True(Hl7Message.Parse(ack).Success);
    }

    [Fact]
    public void Default_control_ids_are_short_and_unique()
    {
        var m = Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5");
        var a = Parse(AckBuilder.Build(m, AckCode.AA)).ControlId!;
        var b = Parse(AckBuilder.Build(m, AckCode.AA)).ControlId!;
        Assert.NotEqual(a, b);
        Assert.InRange(a.Length, 8, 20);
    }

    [Fact]
    public void Enhanced_mode_uses_commit_codes()
    {
        var enhanced = Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||AL|NE");
        var original = Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5");
        Assert.Equal(AckCode.CA, AckBuilder.ChooseAccept(enhanced, ok: true));
        Assert.Equal(AckCode.CE, AckBuilder.ChooseAccept(enhanced, ok: false));
        Assert.Equal(AckCode.CR, AckBuilder.ChooseAccept(enhanced, ok: false, reject: true));
        Assert.Equal(AckCode.AA, AckBuilder.ChooseAccept(original, ok: true));
        Assert.Equal(AckCode.AE, AckBuilder.ChooseAccept(original, ok: false));
        Assert.Equal(AckCode.AR, AckBuilder.ChooseAccept(original, ok: false, reject: true));
        Assert.Equal(AckCode.AR, AckBuilder.ChooseAccept(null, ok: false, reject: true));
        Assert.Equal(AckCode.CA, AckBuilder.ReadAck(Parse(AckBuilder.Build(enhanced, AckCode.CA, options: Fixed))).Code);
    }

    [Theory]
    [InlineData("", "", true, true)]
    [InlineData("AL", "", true, true)]
    [InlineData("NE", "AL", true, false)]
    [InlineData("NE", "AL", false, false)]
    [InlineData("ER", "", true, false)]
    [InlineData("ER", "", false, true)]
    [InlineData("SU", "", true, true)]
    [InlineData("SU", "", false, false)]
    [InlineData("", "AL", true, true)]
    public void Accept_ack_is_sent_as_msh15_asks(string msh15, string msh16, bool success, bool expected)
    {
        var m = Parse($"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5|||{msh15}|{msh16}");
        Assert.Equal(expected, AckBuilder.ShouldSendAcceptAck(m, success));
    }

    [Fact]
    public void Application_ack_is_sent_as_msh16_asks()
    {
        Assert.False(AckBuilder.ShouldSendApplicationAck(Parse("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||AL|NE"), true));
        Assert.True(AckBuilder.ShouldSendApplicationAck(Parse("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||AL|ER"), false));
        Assert.True(AckBuilder.ShouldSendApplicationAck(Parse("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5"), true));
    }

    [Fact]
    public void Ack_text_is_escaped_and_in_the_message_charset()
    {
        var bytes = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.3|||||FRA|8859/1\r"u8.ToArray();
        var m = Parse(bytes);
        var ack = AckBuilder.Build(m, AckCode.AE, text: "Dossier fermé ^ bientôt", options: Fixed);
        Assert.Contains((byte)0xE9, ack); // é in Latin-1
        var parsed = Parse(ack);
        Assert.Equal("8859/1", parsed.CharsetName);
        Assert.Equal("Dossier fermé ^ bientôt", AckBuilder.ReadAck(parsed).Text);
    }

    [Fact]
    public void Reading_a_corpus_style_ack()
    {
        var m = Parse("MSH|^~\\&|DMP|X|LAB|Y|20240101||ACK^R01^ACK|99|P|2.5", "MSA|CE|C7", "ERR||OBX^1|207^Application internal error^HL70357|E||||DMP fermé");
        var reply = AckBuilder.ReadAck(m);
        Assert.Equal(AckCode.CE, reply.Code);
        Assert.Equal("C7", reply.AcknowledgedControlId);
        Assert.Equal("DMP fermé", reply.Text);
        Assert.Null(AckBuilder.ReadAck(Parse("MSH|^~\\&|A", "MSA|ZZ|1")).Code);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now.ToUniversalTime();
        public override TimeZoneInfo LocalTimeZone { get; } = TimeZoneInfo.CreateCustomTimeZone("fixed", now.Offset, "fixed", "fixed");
    }
}
