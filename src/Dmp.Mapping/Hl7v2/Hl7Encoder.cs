using System.Text;

namespace Dmp.Mapping.Hl7v2;

/// <summary>Writes HL7 v2 text: escaping values, and re-emitting a parsed message.</summary>
public static class Hl7Encoder
{
    /// <summary>
    /// Escapes a value for one field/component: each delimiter becomes its sequence (<c>\F\ \S\ \T\ \R\ \E\</c>,
    /// <c>\P\</c> for a declared truncation character); CR and LF become <c>\X0D\</c> and <c>\X0A\</c>, which read
    /// back exactly (pass <paramref name="lineBreaksAsBr"/> to write one <c>\.br\</c> per line break instead, as
    /// formatted-text fields expect). When the delimiters have no escape character, delimiters and line breaks
    /// cannot be represented and become spaces.
    /// </summary>
    public static string Escape(string? value, Hl7Delimiters delimiters, bool lineBreaksAsBr = false)
    {
        ArgumentNullException.ThrowIfNull(delimiters);
        if (string.IsNullOrEmpty(value))
            return string.Empty;
        if (!NeedsEscaping(value, delimiters))
            return value;
        var d = delimiters;
        var sb = new StringBuilder(value.Length + 16);
        var e = (char)d.Escape;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            char? code = null;
            if (c == (char)d.Field)
                code = 'F';
            else if (c == (char)d.Component)
                code = 'S';
            else if (d.HasSubComponent && c == (char)d.SubComponent)
                code = 'T';
            else if (d.HasRepetition && c == (char)d.Repetition)
                code = 'R';
            else if (d.HasEscape && c == e)
                code = 'E';
            else if (d.Truncation is { } t && c == (char)t)
                code = 'P';
            if (code is { } k)
            {
                if (d.HasEscape)
                    sb.Append(e).Append(k).Append(e);
                else
                    sb.Append(' ');
                continue;
            }
            if (c is '\r' or '\n')
            {
                if (!d.HasEscape)
                    sb.Append(' ');
                else if (lineBreaksAsBr)
                {
                    if (c == '\r' && i + 1 < value.Length && value[i + 1] == '\n')
                        i++;
                    sb.Append(e).Append(".br").Append(e);
                }
                else
                {
                    sb.Append(e).Append(c == '\r' ? "X0D" : "X0A").Append(e);
                }
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static bool NeedsEscaping(string value, Hl7Delimiters d)
    {
        foreach (var c in value)
        {
            if (c is '\r' or '\n' || c == (char)d.Field || c == (char)d.Component
                || (d.HasSubComponent && c == (char)d.SubComponent) || (d.HasRepetition && c == (char)d.Repetition)
                || (d.HasEscape && c == (char)d.Escape) || (d.Truncation is { } t && c == (char)t))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Reads escape sequences back in a text value (the inverse of <see cref="Escape"/>; <c>\Xhh\</c> bytes are
    /// taken as UTF-8).
    /// </summary>
    public static string Unescape(string? value, Hl7Delimiters delimiters)
    {
        ArgumentNullException.ThrowIfNull(delimiters);
        if (string.IsNullOrEmpty(value))
            return string.Empty;
        return Hl7Unescaper.Decode(Hl7Charsets.Utf8.GetBytes(value), delimiters, Hl7Charsets.Utf8);
    }

    /// <summary>
    /// The message's segments joined and terminated by CR, bytes as received (so in the message's charset):
    /// byte-identical to the input when that was canonical (CR terminators, no BOM, no blank lines).
    /// </summary>
    public static byte[] Encode(Hl7Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var total = 0;
        foreach (var segment in message.Segments)
            total += segment.RawBytes.Length + 1;
        var output = new byte[total];
        var n = 0;
        foreach (var segment in message.Segments)
        {
            segment.RawBytes.CopyTo(output.AsSpan(n));
            n += segment.RawBytes.Length;
            output[n++] = (byte)'\r';
        }
        return output;
    }
}

/// <summary>
/// Builds messages segment by segment from strings (escaped) or raw bytes. Segments end with CR; trailing empty
/// fields of a segment are not written.
/// </summary>
public sealed class Hl7MessageWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;
    private int _contentEnd; // end of the last non-empty field of the open segment
    private bool _open;

    public Hl7MessageWriter(Hl7Delimiters? delimiters = null, Encoding? encoding = null)
    {
        Delimiters = delimiters ?? Hl7Delimiters.Default;
        Encoding = encoding ?? Hl7Charsets.Utf8;
    }

    public Hl7Delimiters Delimiters { get; }
    public Encoding Encoding { get; }

    /// <summary>
    /// Starts a segment. For <c>MSH</c>, <c>FHS</c> and <c>BHS</c> the field separator and encoding characters are
    /// written too, so the next field written is field 3.
    /// </summary>
    public Hl7MessageWriter Segment(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length != 3)
            throw new ArgumentException("a segment id has 3 characters", nameof(id));
        EndSegment();
        WriteText(id);
        if (id is "MSH" or "FHS" or "BHS")
        {
            WriteByte(Delimiters.Field);
            WriteText(Delimiters.EncodingCharacters);
        }
        _contentEnd = _length;
        _open = true;
        return this;
    }

    /// <summary>Starts a segment and writes its fields, each escaped.</summary>
    public Hl7MessageWriter Segment(string id, params string?[] fields)
    {
        Segment(id);
        foreach (var f in fields)
            Field(f);
        return this;
    }

    /// <summary>Writes the next field, escaped.</summary>
    public Hl7MessageWriter Field(string? value) => RawField(Hl7Encoder.Escape(value, Delimiters));

    /// <summary>Writes the next field from components, each escaped; trailing empty components are dropped.</summary>
    public Hl7MessageWriter Components(params string?[] components)
    {
        var count = components.Length;
        while (count > 0 && string.IsNullOrEmpty(components[count - 1]))
            count--;
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
                sb.Append((char)Delimiters.Component);
            sb.Append(Hl7Encoder.Escape(components[i], Delimiters));
        }
        return RawField(sb.ToString());
    }

    /// <summary>Writes the next field as given: its delimiters are meaningful and nothing is escaped.</summary>
    public Hl7MessageWriter RawField(string? raw)
    {
        BeginField();
        if (!string.IsNullOrEmpty(raw))
        {
            WriteText(raw);
            _contentEnd = _length;
        }
        return this;
    }

    /// <summary>Writes the next field from bytes already in this writer's charset and delimiters (e.g. copied from a message).</summary>
    public Hl7MessageWriter RawField(ReadOnlySpan<byte> raw)
    {
        BeginField();
        if (!raw.IsEmpty)
        {
            WriteBytes(raw);
            _contentEnd = _length;
        }
        return this;
    }

    /// <summary>The message written so far, its last segment terminated.</summary>
    public byte[] ToArray()
    {
        EndSegment();
        return _buffer.AsSpan(0, _length).ToArray();
    }

    private void BeginField()
    {
        if (!_open)
            throw new InvalidOperationException("start a segment before writing fields");
        WriteByte(Delimiters.Field);
    }

    private void EndSegment()
    {
        if (!_open)
            return;
        _length = _contentEnd;
        WriteByte((byte)'\r');
        _open = false;
    }

    private void WriteText(string text)
    {
        var max = Encoding.GetMaxByteCount(text.Length);
        Ensure(max);
        _length += Encoding.GetBytes(text, 0, text.Length, _buffer, _length);
    }

    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void WriteByte(byte b)
    {
        Ensure(1);
        _buffer[_length++] = b;
    }

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
            return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + extra));
    }
}
