namespace Dmp.Mapping.Hl7v2;

/// <summary>One segment of a message: a view over its bytes, fields found on demand.</summary>
public readonly struct Hl7Segment
{
    private const int MshKey = 'M' << 16 | 'S' << 8 | 'H';
    private const int FhsKey = 'F' << 16 | 'H' << 8 | 'S';
    private const int BhsKey = 'B' << 16 | 'H' << 8 | 'S';

    private readonly Hl7Message? _message;
    private readonly int _start;
    private readonly int _length;

    internal Hl7Segment(Hl7Message message, int index, int start, int length)
    {
        _message = message;
        Index = index;
        _start = start;
        _length = length;
    }

    /// <summary>The message this segment belongs to (null for a default value).</summary>
    public Hl7Message? Message => _message;

    /// <summary>The 3-character segment id (shared strings: reading it allocates nothing).</summary>
    public string Id => _message is null ? string.Empty : Hl7Scan.Id(RawBytes);

    /// <summary>0-based position in the message.</summary>
    public int Index { get; }

    /// <summary>The segment's bytes, without its terminator.</summary>
    public ReadOnlySpan<byte> RawBytes => _message is null ? default : _message.Bytes(_start, _length);

    /// <summary>The segment's bytes as memory, without its terminator.</summary>
    public ReadOnlyMemory<byte> RawMemory => _message is null ? default : _message.Raw.Slice(_start, _length);

    /// <summary>MSH, FHS and BHS number their fields from the field separator (MSH-1) and encoding characters (MSH-2).</summary>
    public bool IsHeader
    {
        get
        {
            var raw = RawBytes;
            if (raw.Length < 3)
                return false;
            var key = Hl7Scan.Key(raw);
            return key is MshKey or FhsKey or BhsKey;
        }
    }

    /// <summary>The number of the last field present (trailing empty fields count).</summary>
    public int FieldCount
    {
        get
        {
            if (_message is null || _length <= 3)
                return 0;
            var separators = RawBytes.Count(_message.Delimiters.Field);
            return IsHeader ? separators + 1 : separators;
        }
    }

    /// <summary>
    /// Field <paramref name="n"/> in HL7 numbering (for MSH: 1 the field separator, 2 the encoding characters,
    /// 3 MSH-3…). An absent field is empty.
    /// </summary>
    public Hl7Field GetField(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (_message is null)
            return default;
        var raw = RawBytes;
        var d = _message.Delimiters;
        int piece;
        if (IsHeader)
        {
            if (n == 1)
                return raw.Length > 3 ? new Hl7Field(_message, _start + 3, 1, Hl7Field.Level.Literal) : new Hl7Field(_message, _start + _length, 0, Hl7Field.Level.Literal);
            if (n == 2)
            {
                if (raw.Length <= 4)
                    return new Hl7Field(_message, _start + _length, 0, Hl7Field.Level.Literal);
                var end = raw[4..].IndexOf(d.Field);
                return new Hl7Field(_message, _start + 4, end < 0 ? raw.Length - 4 : end, Hl7Field.Level.Literal);
            }
            piece = n;
        }
        else
        {
            piece = n + 1;
        }
        return Hl7Scan.TryGetPiece(raw, d.Field, piece, out var offset, out var length)
            ? new Hl7Field(_message, _start + offset, length, Hl7Field.Level.Field)
            : new Hl7Field(_message, _start + _length, 0, Hl7Field.Level.Field);
    }

    /// <summary>The decoded value of field <paramref name="n"/>'s first repetition, or null when empty.</summary>
    public string? GetValue(int n) => GetField(n).GetRepetition(1).ValueOrNull;

    /// <summary>The segment as text, escapes kept.</summary>
    public override string ToString() =>
        _message is null ? string.Empty : Hl7Charsets.GetString(_message.Encoding, RawBytes);
}
