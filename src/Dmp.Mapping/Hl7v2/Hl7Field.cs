namespace Dmp.Mapping.Hl7v2;

/// <summary>
/// A field, repetition, component or sub-component: a view over bytes of a message. Navigation is by 1-based
/// numbers and never fails: what is absent is empty. A field answers component questions for its first
/// repetition, and a repetition answers sub-component questions for its first component.
/// </summary>
public readonly partial struct Hl7Field
{
    internal enum Level : byte
    {
        Field,
        Repetition,
        Component,
        SubComponent,
        /// <summary>MSH-1 and MSH-2: never split, never unescaped.</summary>
        Literal,
    }

    private readonly Hl7Message? _message;
    private readonly int _start;
    private readonly int _length;
    private readonly Level _level;

    internal Hl7Field(Hl7Message message, int start, int length, Level level)
    {
        _message = message;
        _start = start;
        _length = length;
        _level = level;
    }

    /// <summary>The message this element belongs to (null for a default value).</summary>
    public Hl7Message? Message => _message;

    /// <summary>The element's bytes, escapes and inner delimiters included.</summary>
    public ReadOnlySpan<byte> RawBytes => _message is null ? default : _message.Bytes(_start, _length);

    /// <summary>The element's bytes as memory.</summary>
    public ReadOnlyMemory<byte> RawMemory => _message is null ? default : _message.Raw.Slice(_start, _length);

    public bool IsEmpty => _length == 0;

    /// <summary>The HL7 explicit null <c>""</c> (the receiver should delete the value it holds).</summary>
    public bool IsNull => _length == 2 && RawBytes.SequenceEqual("\"\""u8);

    /// <summary>Unescaped, charset-decoded text; empty when the element is empty.</summary>
    public string Value
    {
        get
        {
            if (_message is null || _length == 0)
                return string.Empty;
            return _level == Level.Literal
                ? Hl7Charsets.GetString(_message.Encoding, RawBytes)
                : Hl7Unescaper.Decode(RawBytes, _message.Delimiters, _message.Encoding);
        }
    }

    /// <summary><see cref="Value"/>, or null when the element is empty.</summary>
    public string? ValueOrNull => _length == 0 ? null : Value;

    public int RepetitionCount
    {
        get
        {
            if (_length == 0)
                return 0;
            if (_level != Level.Field || !_message!.Delimiters.HasRepetition)
                return 1;
            return RawBytes.Count(_message.Delimiters.Repetition) + 1;
        }
    }

    /// <summary>Components of this repetition (of the first one, for a field).</summary>
    public int ComponentCount
    {
        get
        {
            if (_length == 0)
                return 0;
            return _level switch
            {
                Level.Field => GetRepetition(1).ComponentCount,
                Level.Repetition => RawBytes.Count(_message!.Delimiters.Component) + 1,
                _ => 1,
            };
        }
    }

    /// <summary>Sub-components of this component (of the first component, for a field or repetition).</summary>
    public int SubComponentCount
    {
        get
        {
            if (_length == 0)
                return 0;
            return _level switch
            {
                Level.Field or Level.Repetition => GetComponent(1).SubComponentCount,
                Level.Component => _message!.Delimiters.HasSubComponent ? RawBytes.Count(_message.Delimiters.SubComponent) + 1 : 1,
                _ => 1,
            };
        }
    }

    /// <summary>The i-th (1-based) repetition of a field; for anything below a field, itself when i is 1.</summary>
    public Hl7Field GetRepetition(int i)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(i, 1);
        if (_message is null)
            return default;
        if (_level != Level.Field)
            return i == 1 ? this : Empty(_level);
        if (!_message.Delimiters.HasRepetition)
            return i == 1 ? new Hl7Field(_message, _start, _length, Level.Repetition) : Empty(Level.Repetition);
        return Piece(_message.Delimiters.Repetition, i, Level.Repetition);
    }

    /// <summary>The i-th (1-based) component (of the first repetition, for a field).</summary>
    public Hl7Field GetComponent(int i)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(i, 1);
        if (_message is null)
            return default;
        return _level switch
        {
            Level.Field => GetRepetition(1).GetComponent(i),
            Level.Repetition => Piece(_message.Delimiters.Component, i, Level.Component),
            _ => i == 1 ? this : Empty(_level),
        };
    }

    /// <summary>The i-th (1-based) sub-component (of the first component, for a field or repetition).</summary>
    public Hl7Field GetSubComponent(int i)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(i, 1);
        if (_message is null)
            return default;
        return _level switch
        {
            Level.Field or Level.Repetition => GetComponent(1).GetSubComponent(i),
            Level.Component when _message.Delimiters.HasSubComponent => Piece(_message.Delimiters.SubComponent, i, Level.SubComponent),
            Level.Component => i == 1 ? new Hl7Field(_message, _start, _length, Level.SubComponent) : Empty(Level.SubComponent),
            _ => i == 1 ? this : Empty(_level),
        };
    }

    private Hl7Field Piece(byte separator, int i, Level level) =>
        Hl7Scan.TryGetPiece(RawBytes, separator, i, out var offset, out var length)
            ? new Hl7Field(_message!, _start + offset, length, level)
            : Empty(level);

    private Hl7Field Empty(Level level) => new(_message!, _start + _length, 0, level);

    public override string ToString() => Value;
}
