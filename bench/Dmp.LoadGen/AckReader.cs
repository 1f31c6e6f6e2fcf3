namespace Dmp.LoadGen;

/// <summary>How the gateway answered one message.</summary>
public enum AckOutcome
{
    /// <summary>AA or CA for the control id sent.</summary>
    Accepted,
    /// <summary>AE, AR, CE, CR, or no MSA.</summary>
    Refused,
    /// <summary>An accept, but for another control id.</summary>
    Mismatched,
}

/// <summary>Reads MLLP frames from a stream and judges the ACK inside: enough of HL7 to find MSA-1 and MSA-2.</summary>
public sealed class AckReader(Stream stream)
{
    private byte[] _buffer = new byte[16 * 1024];
    private int _count;

    /// <summary>The payload of the next frame (between 0x0B and 0x1C 0x0D), or null when the peer closed.</summary>
    public async ValueTask<byte[]?> ReadFrameAsync(CancellationToken ct)
    {
        while (true)
        {
            var end = IndexOfEnd(_buffer.AsSpan(0, _count));
            if (end >= 0)
            {
                var start = Array.IndexOf(_buffer, MllpTemplate.StartBlock, 0, end);
                var payload = _buffer.AsSpan(start + 1, end - start - 1).ToArray();
                var consumed = end + 2;
                _buffer.AsSpan(consumed, _count - consumed).CopyTo(_buffer);
                _count -= consumed;
                return payload;
            }
            if (_count == _buffer.Length)
                Array.Resize(ref _buffer, _buffer.Length * 2);
            var read = await stream.ReadAsync(_buffer.AsMemory(_count), ct);
            if (read == 0)
                return null;
            _count += read;
        }
    }

    private static int IndexOfEnd(ReadOnlySpan<byte> bytes)
    {
        for (var from = 0; ;)
        {
            var i = bytes[from..].IndexOf(MllpTemplate.EndBlock);
            if (i < 0)
                return -1;
            i += from;
            if (i + 1 >= bytes.Length)
                return -1;
            if (bytes[i + 1] == MllpTemplate.CarriageReturn)
                return i;
            from = i + 1;
        }
    }

    public static AckOutcome Judge(ReadOnlySpan<byte> ack, string controlId)
    {
        if (ack.Length < 4 || !ack.StartsWith("MSH"u8))
            return AckOutcome.Refused;
        var separator = ack[3];
        foreach (var range in ack.SplitAny("\r\n"u8))
        {
            var segment = ack[range];
            if (segment.Length < 4 || !segment.StartsWith("MSA"u8) || segment[3] != separator)
                continue;
            var fields = segment[4..];
            var cut = fields.IndexOf(separator);
            var code = cut < 0 ? fields : fields[..cut];
            var rest = cut < 0 ? [] : fields[(cut + 1)..];
            var idEnd = rest.IndexOf(separator);
            var id = idEnd < 0 ? rest : rest[..idEnd];
            if (!(code.SequenceEqual("AA"u8) || code.SequenceEqual("CA"u8)))
                return AckOutcome.Refused;
            return System.Text.Encoding.ASCII.GetString(id) == controlId ? AckOutcome.Accepted : AckOutcome.Mismatched;
        }
        return AckOutcome.Refused;
    }
}
