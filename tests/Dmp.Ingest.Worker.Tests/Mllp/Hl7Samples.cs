using System.Security.Cryptography;
using System.Text;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>Messages the MLLP tests send, and how they read answers.</summary>
internal static class Hl7Samples
{
    public const string Sender = "mllp/APP|FAC";

    /// <summary>A small valid ADT^A01 from APP|FAC (segments ended by CR, as on the wire).</summary>
    public static byte[] Adt(string controlId, string? acceptAck = null, string? appAck = null, string family = "DUPONT", string note = "", bool withPid = true)
    {
        var msh = $"MSH|^~\\&|APP|FAC|DMP|DMP|20260101120000||ADT^A01^ADT_A01|{controlId}|P|2.5";
        if (acceptAck is not null || appAck is not null)
            msh += $"|||{acceptAck}|{appAck}";
        var text = msh + "\r" + "EVN|A01|20260101120000\r";
        if (withPid)
            text += $"PID|1||123456^^^FAC&1.2.250.1.71.1.2.2&ISO^PI||{family}^JEAN^^^^^L||19800101|M\r";
        text += $"PV1|1|I|{note}\r";
        return Encoding.ASCII.GetBytes(text);
    }

    /// <summary>A corpus file as it travels over MLLP: segments separated by CR.</summary>
    public static byte[] Corpus(params string[] parts)
    {
        var bytes = File.ReadAllBytes(CliRunner.TestData(parts));
        var wire = new List<byte>(bytes.Length);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\r' && i + 1 < bytes.Length && bytes[i + 1] == (byte)'\n')
                continue; // CR LF → CR
            wire.Add(bytes[i] == (byte)'\n' ? (byte)'\r' : bytes[i]);
        }
        return wire.ToArray();
    }

    /// <summary>Replaces MSH-10 of a message (used to make distinct copies of a corpus message).</summary>
    public static byte[] WithControlId(byte[] message, string controlId)
    {
        var text = Encoding.Latin1.GetString(message);
        var end = text.IndexOf('\r', StringComparison.Ordinal);
        var msh = end < 0 ? text : text[..end];
        var fields = msh.Split('|');
        fields[9] = controlId;
        return Encoding.Latin1.GetBytes(string.Join('|', fields) + (end < 0 ? "" : text[end..]));
    }

    public static string Sha256Hex(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    public sealed record Answer(string? Code, string? ControlId, bool HasErr, string? Text, string Raw);

    /// <summary>Reads an answer when there is one (acknowledgements are not answered).</summary>
    public static Answer? ReadAckOrNone(byte[]? payload) => payload is null ? null : ReadAck(payload);

    public static Answer ReadAck(byte[]? payload)
    {
        Assert.NotNull(payload);
        var parsed = Hl7Message.Parse(payload);
        Assert.True(parsed.Message is not null, "the answer is not HL7: " + Encoding.Latin1.GetString(payload));
        var message = parsed.Message!;
        var reply = AckBuilder.ReadAck(message);
        return new Answer(reply.RawCode, reply.AcknowledgedControlId, message.TryGetSegment("ERR", out _), reply.Text, Encoding.Latin1.GetString(payload));
    }
}
