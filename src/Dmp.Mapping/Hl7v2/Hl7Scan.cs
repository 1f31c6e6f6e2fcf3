using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.Intrinsics;
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
        if (n > 1)
        {
            var at = IndexOfNth(s, separator, n - 1);
            if (at < 0)
                return false;
            start = at + 1;
        }
        var end = s[start..].IndexOf(separator);
        offset = start;
        length = end < 0 ? s.Length - start : end;
        return true;
    }

    /// <summary>
    /// The index of the <paramref name="nth"/> (1-based) occurrence of <paramref name="value"/>, or -1. Fields are
    /// short: one IndexOf per separator spends its time starting up, so whole blocks of bytes are counted at once.
    /// </summary>
    internal static int IndexOfNth(ReadOnlySpan<byte> s, byte value, int nth)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated && s.Length >= Vector256<byte>.Count)
        {
            var target = Vector256.Create(value);
            for (; i <= s.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var mask = Vector256.Equals(Vector256.Create(s.Slice(i, Vector256<byte>.Count)), target).ExtractMostSignificantBits();
                var count = BitOperations.PopCount(mask);
                if (count >= nth)
                    return i + NthSetBit(mask, nth);
                nth -= count;
            }
        }
        if (Vector128.IsHardwareAccelerated && s.Length - i >= Vector128<byte>.Count)
        {
            var target = Vector128.Create(value);
            for (; i <= s.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var mask = Vector128.Equals(Vector128.Create(s.Slice(i, Vector128<byte>.Count)), target).ExtractMostSignificantBits();
                var count = BitOperations.PopCount(mask);
                if (count >= nth)
                    return i + NthSetBit(mask, nth);
                nth -= count;
            }
        }
        for (; i < s.Length; i++)
        {
            if (s[i] == value && --nth == 0)
                return i;
        }
        return -1;
    }

    /// <summary>
    /// Writes the positions of every <paramref name="value"/> in <paramref name="s"/>, plus <paramref name="offset"/>,
    /// to <paramref name="destination"/> (as long as <c>s.Count(value)</c> at least); returns how many.
    /// </summary>
    internal static int IndexesOf(ReadOnlySpan<byte> s, byte value, Span<int> destination, int offset)
    {
        var n = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && s.Length >= Vector256<byte>.Count)
        {
            var target = Vector256.Create(value);
            for (; i <= s.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var mask = Vector256.Equals(Vector256.Create(s.Slice(i, Vector256<byte>.Count)), target).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    destination[n++] = offset + i + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                }
            }
        }
        for (; i < s.Length; i++)
        {
            if (s[i] == value)
                destination[n++] = offset + i;
        }
        return n;
    }

    /// <summary>The position of the nth (1-based) set bit of a mask that has at least n.</summary>
    private static int NthSetBit(uint mask, int nth)
    {
        for (var k = 1; k < nth; k++)
            mask &= mask - 1;
        return BitOperations.TrailingZeroCount(mask);
    }
}
