using System.Text;

namespace Dmp.Mapping.Hl7v2;

/// <summary>
/// Resolves MSH-18 (HL7 table 0211) to a .NET <see cref="Encoding"/>. When MSH-18 is absent, unknown or contradicted
/// by the bytes, the bytes decide: valid UTF-8 is UTF-8, anything else ISO-8859-1 (every byte is a character there,
/// so a Latin-1 byte never becomes U+FFFD).
/// </summary>
public static class Hl7Charsets
{
    /// <summary>ISO-8859-15 (Latin-9), which .NET does not ship without the code-pages provider.</summary>
    public static Encoding Latin9 { get; } = new Latin9Encoding();

    /// <summary>UTF-8 without a BOM preamble, throwing nothing on bad input (bad sequences become U+FFFD).</summary>
    public static Encoding Utf8 { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>
    /// The encoding for a declared MSH-18 value and the message bytes. <paramref name="fellBack"/> is true when a
    /// declared charset was not used because the bytes contradict it or it is not supported.
    /// </summary>
    public static Encoding Resolve(ReadOnlySpan<byte> declared, ReadOnlySpan<byte> message, out bool fellBack)
    {
        fellBack = false;
        declared = declared.Trim((byte)' ');
        if (declared.IsEmpty)
            return Sniff(message);
        Span<byte> upper = stackalloc byte[Math.Min(declared.Length, 32)];
        var n = 0;
        foreach (var b in declared)
        {
            if (n == upper.Length)
                break;
            upper[n++] = b is >= (byte)'a' and <= (byte)'z' ? (byte)(b - 32) : b;
        }
        var name = upper[..n];
        if (name.SequenceEqual("ASCII"u8) || name.SequenceEqual("ISO IR6"u8) || name.SequenceEqual("US-ASCII"u8))
        {
            if (System.Text.Ascii.IsValid(message))
                return Encoding.ASCII;
            fellBack = true;
            return Sniff(message);
        }
        if (name.SequenceEqual("8859/1"u8) || name.SequenceEqual("ISO IR100"u8) || name.SequenceEqual("ISO-8859-1"u8)
            || name.SequenceEqual("ISO8859-1"u8) || name.SequenceEqual("LATIN1"u8) || name.SequenceEqual("LATIN-1"u8))
            return Encoding.Latin1;
        if (name.SequenceEqual("8859/15"u8) || name.SequenceEqual("ISO IR203"u8) || name.SequenceEqual("ISO-8859-15"u8)
            || name.SequenceEqual("ISO8859-15"u8) || name.SequenceEqual("LATIN9"u8) || name.SequenceEqual("LATIN-9"u8))
            return Latin9;
        // "UNICODE" is, in practice, what senders write for UTF-8 in ER7 (16-bit code units cannot carry ER7 delimiters).
        if (name.SequenceEqual("UNICODE UTF-8"u8) || name.SequenceEqual("UTF-8"u8) || name.SequenceEqual("UTF8"u8)
            || name.SequenceEqual("UNICODE"u8) || name.SequenceEqual("ISO IR192"u8))
        {
            if (Utf8Validator.IsValid(message))
                return Utf8;
            fellBack = true;
            return Encoding.Latin1;
        }
        fellBack = true;
        return Sniff(message);
    }

    /// <summary>UTF-8 when the bytes are valid UTF-8, else ISO-8859-1.</summary>
    public static Encoding Sniff(ReadOnlySpan<byte> message) =>
        Utf8Validator.IsValid(message) ? Utf8 : Encoding.Latin1;

    /// <summary>Decodes bytes with an encoding, taking the fast span path for the built-in ones.</summary>
    /// <remarks>
    /// Every charset a message can have (ASCII, ISO-8859-1, ISO-8859-15, UTF-8) reads an ASCII byte as the same
    /// character, and most values are plain ASCII: those are widened directly, skipping the UTF-8 decoder's set-up.
    /// </remarks>
    internal static string GetString(Encoding encoding, ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Ascii.IsValid(bytes))
            return Encoding.Latin1.GetString(bytes);
        return encoding is Latin9Encoding ? Latin9Encoding.Decode(bytes) : encoding.GetString(bytes);
    }

    private static class Utf8Validator
    {
        public static bool IsValid(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
    }
}

/// <summary>ISO-8859-15: Latin-1 but for eight code points (€ Š š Ž ž Œ œ Ÿ).</summary>
internal sealed class Latin9Encoding : Encoding
{
    // Bytes 0xA4 0xA6 0xA8 0xB4 0xB8 0xBC 0xBD 0xBE, in that order.
    private static readonly byte[] SpecialBytes = [0xA4, 0xA6, 0xA8, 0xB4, 0xB8, 0xBC, 0xBD, 0xBE];
    private static readonly char[] SpecialChars = ['\u20AC', '\u0160', '\u0161', '\u017D', '\u017E', '\u0152', '\u0153', '\u0178'];

    public override string WebName => "iso-8859-15";
    public override string EncodingName => "Western European (ISO-8859-15)";
    public override string BodyName => "iso-8859-15";
    public override string HeaderName => "iso-8859-15";
    public override int CodePage => 28605;
    public override bool IsSingleByte => true;

    public override int GetByteCount(char[] chars, int index, int count) => count;

    public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex)
    {
        for (var i = 0; i < charCount; i++)
            bytes[byteIndex + i] = ToByte(chars[charIndex + i]);
        return charCount;
    }

    public override int GetCharCount(byte[] bytes, int index, int count) => count;

    public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex)
    {
        for (var i = 0; i < byteCount; i++)
            chars[charIndex + i] = ToChar(bytes[byteIndex + i]);
        return byteCount;
    }

    public override int GetMaxByteCount(int charCount) => charCount;
    public override int GetMaxCharCount(int byteCount) => byteCount;

    public override string GetString(byte[] bytes, int index, int count) => Decode(bytes.AsSpan(index, count));

    /// <summary>Span decoding without the base class's array copies.</summary>
    internal static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return string.Empty;
        var chars = bytes.Length <= 512 ? stackalloc char[bytes.Length] : new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            chars[i] = ToChar(bytes[i]);
        return new string(chars);
    }

    private static char ToChar(byte b)
    {
        if (b is >= 0xA4 and <= 0xBE)
        {
            var i = Array.IndexOf(SpecialBytes, b);
            if (i >= 0)
                return SpecialChars[i];
        }
        return (char)b;
    }

    private static byte ToByte(char c)
    {
        if (c < 0x100)
        {
            var b = (byte)c;
            return Array.IndexOf(SpecialBytes, b) >= 0 ? (byte)'?' : b;
        }
        var i = Array.IndexOf(SpecialChars, c);
        return i >= 0 ? SpecialBytes[i] : (byte)'?';
    }
}
