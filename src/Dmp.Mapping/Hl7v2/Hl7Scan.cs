using System.Collections.Concurrent;
using System.Text;

namespace Dmp.Mapping.Hl7v2;

/// <summary>Byte-level helpers shared by the message reader and the batch splitter.</summary>
internal static class Hl7Scan
{
    public const byte Cr = (byte)'\r';
    public const byte Lf = (byte)'\n';
    private const byte Vt = 0x0B;
    private const byte Fs = 0x1C;

    private static readonly ConcurrentDictionary<int, string> Ids = new();

    /// <summary>Length of a leading UTF-8 BOM plus whitespace, line breaks and MLLP framing bytes.</summary>
    public static int SkipPreamble(ReadOnlySpan<byte> s)
    {
        var i = s.StartsWith("\uFEFF"u8) ? 3 : 0;
        while (i < s.Length && IsBlankByte(s[i]))
            i++;
        return i;
    }

    public static bool IsBlankByte(byte b) => b is (byte)' ' or (byte)'\t' or Cr or Lf or Vt or Fs or 0x0C;

    public static bool IsBlankLine(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
        {
            if (!IsBlankByte(b))
                return false;
        }
        return true;
    }

    public static bool IsIdByte(byte b) => b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9';

    /// <summary>Three upper-case letters or digits, then the end of the line or a non-alphanumeric byte.</summary>
    public static bool LooksLikeSegment(ReadOnlySpan<byte> line) =>
        line.Length >= 3 && IsIdByte(line[0]) && IsIdByte(line[1]) && IsIdByte(line[2])
        && (line.Length == 3 || !(IsIdByte(line[3]) || line[3] is >= (byte)'a' and <= (byte)'z'));

    public static bool IsId(ReadOnlySpan<byte> line, ReadOnlySpan<byte> id) => line.Length >= 3 && line[..3].SequenceEqual(id);

    /// <summary>The segment id as a shared string (ids are few: no allocation after the first sight of one).</summary>
    public static string Id(ReadOnlySpan<byte> segment)
    {
        if (segment.Length < 3)
            return Encoding.Latin1.GetString(segment);
        var key = segment[0] << 16 | segment[1] << 8 | segment[2];
        if (Ids.TryGetValue(key, out var id))
            return id;
        if (!IsIdByte(segment[0]) || !IsIdByte(segment[1]) || !IsIdByte(segment[2]))
            return Encoding.Latin1.GetString(segment[..3]);
        return Ids.GetOrAdd(key, static k => new string([(char)(k >> 16), (char)(k >> 8 & 0xFF), (char)(k & 0xFF)]));
    }

    public static int Key(ReadOnlySpan<byte> id) => id[0] << 16 | id[1] << 8 | id[2];

    public static int Key(string id) => id[0] << 16 | id[1] << 8 | id[2];

    /// <summary>Up to 12 leading bytes, shown as text when printable and in hex otherwise.</summary>
    public static string Describe(ReadOnlySpan<byte> s)
    {
        var head = s[..Math.Min(12, s.Length)];
        var printable = true;
        foreach (var b in head)
        {
            if (b is < 0x20 or >= 0x7F)
                printable = false;
        }
        if (printable)
            return $"starts with \"{Encoding.ASCII.GetString(head)}\"";
        return "binary data (starts with " + Convert.ToHexString(head[..Math.Min(8, head.Length)]) + ")";
    }

    /// <summary>The 1-based n-th piece of <paramref name="s"/> split on <paramref name="separator"/>.</summary>
    public static bool TryGetPiece(ReadOnlySpan<byte> s, byte separator, int n, out int offset, out int length)
    {
        offset = 0;
        length = 0;
        var start = 0;
        for (var k = 1; k < n; k++)
        {
            var at = s[start..].IndexOf(separator);
            if (at < 0)
                return false;
            start += at + 1;
        }
        var end = s[start..].IndexOf(separator);
        offset = start;
        length = end < 0 ? s.Length - start : end;
        return true;
    }
}
