using System.Text;

namespace Dmp.LoadGen;

/// <summary>
/// The message the load generator sends, with MSH-10 cut out so that each send carries its own control id
/// (the gateway deduplicates on it). Segments end with CR, as MLLP senders write them.
/// </summary>
public sealed class MllpTemplate
{
    public const byte StartBlock = 0x0B;
    public const byte EndBlock = 0x1C;
    public const byte CarriageReturn = 0x0D;

    private readonly byte[] _before; // start block + bytes up to MSH-10
    private readonly byte[] _after;  // bytes after MSH-10 + end block + CR

    private MllpTemplate(byte[] before, byte[] after, string originalControlId)
    {
        _before = before;
        _after = after;
        OriginalControlId = originalControlId;
    }

    public string OriginalControlId { get; }

    /// <summary>The framed size for a control id of <paramref name="controlIdLength"/> ASCII characters.</summary>
    public int FrameLength(int controlIdLength) => _before.Length + controlIdLength + _after.Length;

    public static MllpTemplate FromFile(string path) => FromBytes(File.ReadAllBytes(path));

    /// <summary>Reads one ER7 message; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static MllpTemplate FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith("\uFEFF"u8))
            bytes = bytes[3..];
        // Segments on CR, LF or CRLF; blank lines dropped.
        var segments = new List<byte[]>();
        foreach (var range in bytes.SplitAny("\r\n"u8))
        {
            var line = bytes[range];
            if (!line.Trim((byte)' ').IsEmpty)
                segments.Add(line.ToArray());
        }
        if (segments.Count == 0 || !segments[0].AsSpan().StartsWith("MSH"u8) || segments[0].Length < 8)
            throw new FormatException("the template is not an HL7 v2 message: it must start with an MSH segment");
        if (segments.Skip(1).Any(s => s.AsSpan().StartsWith("MSH"u8)))
            throw new FormatException("the template holds several messages: give a file with one");
        var msh = segments[0];
        var separator = msh[3];
        // MSH-1 is the separator itself, so MSH-n (n >= 2) follows the (n-1)th separator: MSH-10 the 9th.
        int start = -1, count = 0;
        for (var i = 3; i < msh.Length; i++)
        {
            if (msh[i] == separator && ++count == 9)
            {
                start = i + 1;
                break;
            }
        }
        if (start < 0)
            throw new FormatException("the template's MSH has no MSH-10 (message control id)");
        var end = Array.IndexOf(msh, separator, start);
        if (end < 0)
            end = msh.Length;

        var before = new List<byte> { StartBlock };
        before.AddRange(msh.AsSpan(0, start));
        var after = new List<byte>();
        after.AddRange(msh.AsSpan(end));
        after.Add(CarriageReturn);
        foreach (var segment in segments.Skip(1))
        {
            after.AddRange(segment);
            after.Add(CarriageReturn);
        }
        after.Add(EndBlock);
        after.Add(CarriageReturn);
        return new MllpTemplate([.. before], [.. after], Encoding.ASCII.GetString(msh, start, end - start));
    }

    /// <summary>Writes the framed message with <paramref name="controlId"/> (ASCII) as MSH-10; returns the length.</summary>
    public int Write(Span<byte> destination, string controlId)
    {
        _before.CopyTo(destination);
        var n = _before.Length;
        n += Encoding.ASCII.GetBytes(controlId, destination[n..]);
        _after.CopyTo(destination[n..]);
        return n + _after.Length;
    }
}
