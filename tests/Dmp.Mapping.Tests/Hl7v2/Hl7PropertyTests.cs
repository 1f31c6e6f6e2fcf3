using System.Text;
using CsCheck;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7PropertyTests
{
    private static readonly string[] Paths = ["MSH-1", "MSH-2", "MSH-9.2", "MSH-18", "PID-3", "PID-3[2].4.2", "PID-5.1.1", "OBX[2]-5", "ZZZ-1", "EVN-1[3]"];

    // Characters of every kind that matter: delimiters, escape letters, line breaks, controls, accents, astral (surrogate pairs).
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.Char["|^~\\&#FSTREXHN.br0Aa \r\n\t"],
        Gen.Char.AlphaNumeric,
        Gen.Char[(char)0, (char)0x7F],
        Gen.Char['\u00A0', '\u024F'],
        Gen.Const('€'),
        Gen.Const('\u4E2D')).Array[0, 40].Select(a => new string(a))
        .Select(Gen.Bool, (s, astral) => astral ? s + "\U0001F600" : s);

    [Fact]
    public void Escaped_text_reads_back_unchanged()
    {
        Text.Sample(value =>
        {
            var escaped = Hl7Encoder.Escape(value, Hl7Delimiters.Default);
            var bytes = Encoding.UTF8.GetBytes("MSH|^~\\&|A|||||||||||||||UNICODE UTF-8\rZZZ|" + escaped + "|end\r");
            var parsed = Hl7Message.Parse(bytes);
            Assert.True(parsed.Success, parsed.Error?.ToString());
            var field = parsed.Message!.GetSegment(1).GetField(1);
            Assert.Equal(value, field.Value);
            Assert.True(field.RepetitionCount <= 1);
            Assert.Equal(value, Hl7Encoder.Unescape(escaped, Hl7Delimiters.Default));
        }, iter: 2000);
    }

    [Fact]
    public void Escaped_text_reads_back_with_other_delimiters()
    {
        var d = new Hl7Delimiters((byte)'#', (byte)'@', (byte)'*', (byte)'$', (byte)'%', (byte)'!');
        Text.Sample(value =>
        {
            var bytes = Encoding.UTF8.GetBytes("MSH#@*$%!#A\rZZZ#" + Hl7Encoder.Escape(value, d) + "#end\r");
            var parsed = Hl7Message.Parse(bytes);
            Assert.True(parsed.Success, parsed.Error?.ToString());
            Assert.Equal(value, parsed.Message!.GetSegment(1).GetField(1).Value);
        }, iter: 1000);
    }

    [Fact]
    public void Arbitrary_bytes_never_throw()
    {
        Gen.Byte.Array[0, 300].Sample(Exercise, iter: 3000);
    }

    [Fact]
    public void Arbitrary_hl7_looking_text_never_throws()
    {
        var alphabet = Gen.OneOf(Gen.Char["MSHPIDOBXFTBE|^~\\&#\r\n0123456789.+-\"X"], Gen.Char[(char)0, (char)0xFF]);
        alphabet.Array[0, 200].Select(a => Encoding.Latin1.GetBytes(new string(a))).Sample(bytes =>
        {
            Exercise(bytes);
            Exercise([.. "MSH|^~\\&|"u8, .. bytes]);
        }, iter: 3000);
    }

    [Fact]
    public void Mutated_valid_messages_never_throw()
    {
        var valid = Encoding.UTF8.GetBytes(
            "MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20240306111154||ADT^A01^ADT_A01|3975|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||2.11^IHE\r" +
            "EVN||20240306111154\rPID|1||123^^^A&1.2.3&ISO^PI~456^^^B^INS||DOE\\S\\X^JOHN^^^^^L||19790328|F\r" +
            "OBX|1|ED|DOC||^text^XML^Base64^PENEQT48L0NEQT4=\rOBX|2|SN|X||>^10\rBTS|1\r");
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[0, 3]).Array[1, 6].Sample(mutations =>
        {
            var bytes = (byte[])valid.Clone();
            foreach (var (at, value, kind) in mutations)
            {
                var i = Math.Min(at, bytes.Length - 1);
                if (kind == 0)
                    bytes[i] = value;
                else if (kind == 1)
                    bytes = [.. bytes[..i], .. bytes[(i + 1)..]];
                else
                    bytes = [.. bytes[..Math.Min(at, bytes.Length)], value, .. bytes[Math.Min(at, bytes.Length)..]];
                if (bytes.Length == 0)
                    break;
            }
            Exercise(bytes);
        }, iter: 3000);
    }

    private static void Exercise(byte[] bytes)
    {
        var batch = Hl7Batch.Split(bytes);
        foreach (var slice in batch.Messages)
            ExerciseMessage(slice);
        ExerciseMessage(bytes);
    }

    private static void ExerciseMessage(ReadOnlyMemory<byte> bytes)
    {
        var parsed = Hl7Message.Parse(bytes);
        if (!parsed.Success)
        {
            Assert.NotNull(parsed.Error);
            _ = parsed.Error.ToString();
            return;
        }
        var m = parsed.Message;
        foreach (var p in Paths)
            _ = m.Get(p);
        _ = (m.SendingApplication, m.SendingFacility, m.ReceivingApplication, m.ReceivingFacility, m.MessageType, m.TriggerEvent,
            m.MessageStructure, m.ControlId, m.ProcessingId, m.Version, m.AcceptAckType, m.ApplicationAckType, m.ProfileIds, m.CharsetName);
        foreach (var segment in m.Segments)
        {
            _ = segment.Id;
            for (var f = 1; f <= Math.Min(segment.FieldCount, 30); f++)
            {
                var field = segment.GetField(f);
                _ = field.Value;
                _ = field.IsNull;
                for (var r = 1; r <= Math.Min(field.RepetitionCount, 4); r++)
                {
                    var rep = field.GetRepetition(r);
                    _ = rep.AsCx();
                    _ = rep.AsXpn();
                    _ = rep.AsXad();
                    _ = rep.AsCoded();
                    _ = rep.AsSn();
                    _ = rep.AsNm();
                    _ = rep.AsDateTime();
                    _ = rep.AsEd().TryDecodeBase64(out _);
                    for (var c = 1; c <= Math.Min(rep.ComponentCount, 6); c++)
                    {
                        var comp = rep.GetComponent(c);
                        _ = comp.Value;
                        for (var s = 1; s <= Math.Min(comp.SubComponentCount, 4); s++)
                            _ = comp.GetSubComponent(s).Value;
                    }
                }
            }
        }
        _ = Hl7Encoder.Encode(m);
        var ack = AckBuilder.Build(m, AckCode.AE, new Hl7Error(1, "MSH", 9, "x"));
        Assert.True(Hl7Message.Parse(ack).Success);
        _ = AckBuilder.ReadAck(m);
        _ = AckBuilder.ShouldSendAcceptAck(m, false);
    }

    [Fact]
    public void Canonical_messages_encode_byte_identical()
    {
        var safe = Gen.OneOf(Gen.Char.AlphaNumeric, Gen.Char[" .-_/:+=\"'é€"]);
        var value = Gen.OneOf(
            safe.Array[0, 8].Select(a => new string(a)),
            Gen.Const("\\F\\"), Gen.Const("\\E\\"), Gen.Const("\\X0D\\"), Gen.Const("\\.br\\"));
        var component = value.Array[1, 3].Select(v => string.Join('&', v));
        var repetition = component.Array[1, 3].Select(v => string.Join('^', v));
        var field = repetition.Array[1, 2].Select(v => string.Join('~', v));
        var id = Gen.Select(Gen.Char['A', 'Z'], Gen.Char.AlphaNumeric.Where(c => !char.IsAsciiLetterLower(c)), Gen.Char['A', 'Z'])
            .Select((a, b, c) => new string([a, b, c]))
            .Where(s => s is not ("MSH" or "FHS" or "BHS" or "BTS" or "FTS"));
        var segment = Gen.Select(id, field.Array[0, 8]).Select((i, fs) => fs.Length == 0 ? i : i + "|" + string.Join('|', fs));
        Gen.Select(field.Array[0, 12], segment.Array[0, 10]).Sample((header, segments) =>
        {
            var msh = "MSH|^~\\&" + string.Concat(header.Select(h => "|" + h));
            var text = string.Join('\r', [msh, .. segments]) + "\r";
            var bytes = Encoding.UTF8.GetBytes(text);
            var parsed = Hl7Message.Parse(bytes);
            Assert.True(parsed.Success, parsed.Error?.ToString());
            Assert.Equal(segments.Length + 1, parsed.Message!.SegmentCount);
            Assert.Equal(bytes, Hl7Encoder.Encode(parsed.Message));
        }, iter: 1000);
    }
}
