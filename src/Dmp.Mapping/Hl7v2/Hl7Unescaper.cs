using System.Buffers;
using System.Text;

namespace Dmp.Mapping.Hl7v2;

/// <summary>
/// Turns the raw bytes of a value into text: HL7 escape sequences undone, then the message's charset decoded.
/// Sequences are resolved to bytes first so that <c>\Xhh\</c> bytes decode with the same charset as the text
/// around them.
/// </summary>
/// <remarks>
/// Plain-text rendering of formatted text (FT/TX): <c>\.br\</c> and <c>\.sp n\</c> become line feeds (n of them,
/// at least 1, at most 100), <c>\H\ \N\ \.in\ \.ti\ \.ce\ \.fi\ \.nf\</c> are dropped. <c>\P\</c> becomes the
/// truncation character when the message declares one (else it is kept as written). Character-set switches
/// (<c>\C…\ \M…\</c>), <c>\Z…\</c> and any unknown or malformed sequence are kept verbatim, escape characters
/// included. An escape character with no closing one is literal.
/// </remarks>
internal static class Hl7Unescaper
{
    private const int MaxSpaceLines = 100;

    /// <summary>Up to this length one plain loop checks a value faster than the vectorised searches start up.</summary>
    private const int ShortValue = 32;

    /// <summary>
    /// No escape character and only ASCII bytes: the text is the bytes widened, whatever the message's charset (every
    /// charset a message can have reads ASCII alike; see <see cref="Hl7Charsets.GetString"/>).
    /// </summary>
    private static bool IsPlainAscii(ReadOnlySpan<byte> raw, Hl7Delimiters d)
    {
        var escape = d.HasEscape ? d.Escape : (byte)0x80; // 0x80 is never ASCII: no escape, nothing more to look for
        foreach (var b in raw)
        {
            if (b >= 0x80 || b == escape)
                return false;
        }
        return true;
    }

    public static string Decode(ReadOnlySpan<byte> raw, Hl7Delimiters d, Encoding encoding)
    {
        if (raw.IsEmpty)
            return string.Empty;
        if (raw.Length <= ShortValue && IsPlainAscii(raw, d))
            return Encoding.Latin1.GetString(raw);
        if (!d.HasEscape || raw.IndexOf(d.Escape) < 0)
            return Hl7Charsets.GetString(encoding, raw);

        var rented = ArrayPool<byte>.Shared.Rent(raw.Length + 16);
        try
        {
            var buffer = rented;
            var n = 0;
            var esc = d.Escape;
            var i = 0;
            while (i < raw.Length)
            {
                var rest = raw[i..];
                var at = rest.IndexOf(esc);
                if (at < 0)
                {
                    Append(ref buffer, ref n, rest);
                    break;
                }
                Append(ref buffer, ref n, rest[..at]);
                i += at;
                var close = raw[(i + 1)..].IndexOf(esc);
                if (close < 0)
                {
                    // A lone escape character: literal, as is everything after it.
                    Append(ref buffer, ref n, raw[i..]);
                    break;
                }
                var content = raw.Slice(i + 1, close);
                var whole = raw.Slice(i, close + 2);
                Translate(content, whole, d, ref buffer, ref n);
                i += close + 2;
            }
            return Hl7Charsets.GetString(encoding, buffer.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void Translate(ReadOnlySpan<byte> content, ReadOnlySpan<byte> whole, Hl7Delimiters d, ref byte[] buffer, ref int n)
    {
        if (content.Length == 1)
        {
            switch (content[0])
            {
                case (byte)'F': AppendByte(ref buffer, ref n, d.Field); return;
                case (byte)'S': AppendByte(ref buffer, ref n, d.Component); return;
                case (byte)'T' when d.HasSubComponent: AppendByte(ref buffer, ref n, d.SubComponent); return;
                case (byte)'R' when d.HasRepetition: AppendByte(ref buffer, ref n, d.Repetition); return;
                case (byte)'E': AppendByte(ref buffer, ref n, d.Escape); return;
                case (byte)'P' when d.Truncation is { } t: AppendByte(ref buffer, ref n, t); return;
                case (byte)'H' or (byte)'N': return;
            }
        }
        else if (content.Length >= 3 && content[0] == 'X' && (content.Length - 1) % 2 == 0 && TryAppendHex(content[1..], ref buffer, ref n))
        {
            return;
        }
        else if (content.Length >= 3 && content[0] == '.')
        {
            var command = content[1..];
            if (command.SequenceEqual("br"u8))
            {
                AppendByte(ref buffer, ref n, (byte)'\n');
                return;
            }
            if (command.StartsWith("sp"u8) && TryReadCount(command[2..], out var lines))
            {
                lines = Math.Clamp(lines, 1, MaxSpaceLines);
                for (var k = 0; k < lines; k++)
                    AppendByte(ref buffer, ref n, (byte)'\n');
                return;
            }
            if ((command.StartsWith("in"u8) || command.StartsWith("ti"u8)) && TryReadCount(command[2..], out _))
                return;
            if (command.SequenceEqual("ce"u8) || command.SequenceEqual("fi"u8) || command.SequenceEqual("nf"u8))
                return;
        }
        Append(ref buffer, ref n, whole);
    }

    /// <summary>An optional signed decimal count after a formatting command (`\.sp 2\`, `\.in+4\`, `\.ti-2\`).</summary>
    private static bool TryReadCount(ReadOnlySpan<byte> s, out int value)
    {
        value = 1;
        s = s.Trim((byte)' ');
        if (s.IsEmpty)
            return true;
        var negative = false;
        if (s[0] is (byte)'+' or (byte)'-')
        {
            negative = s[0] == '-';
            s = s[1..].TrimStart((byte)' ');
        }
        if (s.IsEmpty || s.Length > 6)
            return false;
        var v = 0;
        foreach (var b in s)
        {
            if (b is < (byte)'0' or > (byte)'9')
                return false;
            v = v * 10 + (b - '0');
        }
        value = negative ? -v : v;
        return true;
    }

    private static bool TryAppendHex(ReadOnlySpan<byte> hex, ref byte[] buffer, ref int n)
    {
        foreach (var b in hex)
        {
            if (!IsHex(b))
                return false;
        }
        for (var k = 0; k < hex.Length; k += 2)
            AppendByte(ref buffer, ref n, (byte)(HexValue(hex[k]) << 4 | HexValue(hex[k + 1])));
        return true;
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'F' or >= (byte)'a' and <= (byte)'f';

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    private static void Append(ref byte[] buffer, ref int n, ReadOnlySpan<byte> bytes)
    {
        Ensure(ref buffer, n, bytes.Length);
        bytes.CopyTo(buffer.AsSpan(n));
        n += bytes.Length;
    }

    private static void AppendByte(ref byte[] buffer, ref int n, byte b)
    {
        Ensure(ref buffer, n, 1);
        buffer[n++] = b;
    }

    private static void Ensure(ref byte[] buffer, int n, int extra)
    {
        if (n + extra <= buffer.Length)
            return;
        // Only \.sp n\ can grow the output beyond the input; rarely taken.
        var bigger = new byte[Math.Max(buffer.Length * 2, n + extra)];
        buffer.AsSpan(0, n).CopyTo(bigger);
        buffer = bigger;
    }
}
