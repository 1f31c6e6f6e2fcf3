using System.Buffers;
using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Dmp.Mapping.Hl7v2;

/// <summary>
/// One HL7 v2 (ER7) message over its raw bytes. Parsing only finds the segment boundaries; fields, repetitions
/// and components are found on demand by scanning bytes, and text is decoded only when a caller asks for a value.
/// Immutable: safe to read from several threads.
/// </summary>
/// <remarks>
/// <see cref="Parse"/> reads exactly one message. Input that begins with a batch envelope (FHS/BHS), contains
/// envelope segments or a second MSH is refused with an error naming that segment: split it first with
/// <see cref="Hl7Batch.Split"/>.
/// </remarks>
public sealed class Hl7Message
{
    private readonly int[] _bounds; // start, end (exclusive) of each segment, offsets into Raw

    // The bytes as an array segment when they are one (the usual case): every value read slices them, and slicing an
    // array is cheaper than asking a ReadOnlyMemory for its span each time.
    private readonly byte[]? _array;
    private readonly int _arrayOffset;

    private Hl7Message(ReadOnlyMemory<byte> raw, int[] bounds, Hl7Delimiters delimiters, Encoding encoding, bool charsetFallback)
    {
        Raw = raw;
        if (MemoryMarshal.TryGetArray(raw, out var segment))
        {
            _array = segment.Array;
            _arrayOffset = segment.Offset;
        }
        _bounds = bounds;
        Delimiters = delimiters;
        Encoding = encoding;
        CharsetFallback = charsetFallback;
    }

    /// <summary>The bytes given to <see cref="Parse"/>, untouched (BOM and line ends included).</summary>
    public ReadOnlyMemory<byte> Raw { get; }

    /// <summary><paramref name="length"/> bytes of <see cref="Raw"/> from <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ReadOnlySpan<byte> Bytes(int start, int length) =>
        _array is not null ? new ReadOnlySpan<byte>(_array, _arrayOffset + start, length) : RawSlice(start, length);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ReadOnlySpan<byte> RawSlice(int start, int length) => Raw.Span.Slice(start, length);

    /// <summary>The offset in <see cref="Raw"/> where the segment at a 0-based position starts.</summary>
    internal int SegmentStart(int index) => _bounds[2 * index];

    /// <summary>The length of the segment at a 0-based position, without its terminator.</summary>
    internal int SegmentLength(int index) => _bounds[2 * index + 1] - _bounds[2 * index];

    public Hl7Delimiters Delimiters { get; }

    /// <summary>The charset values are decoded with: MSH-18 when usable, else what the bytes are (UTF-8 or ISO-8859-1).</summary>
    public Encoding Encoding { get; }

    /// <summary>True when MSH-18 was given but not honoured (unknown name, or bytes that contradict it).</summary>
    public bool CharsetFallback { get; }

    /// <summary>MSH-18 (first repetition) as written, or null.</summary>
    public string? CharsetName => Header.GetField(18).GetRepetition(1).ValueOrNull;

    public int SegmentCount => _bounds.Length / 2;

    /// <summary>The segment at a 0-based position.</summary>
    public Hl7Segment GetSegment(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, SegmentCount);
        return new Hl7Segment(this, index, _bounds[2 * index], _bounds[2 * index + 1] - _bounds[2 * index]);
    }

    /// <summary>All segments in order (a struct list: enumerating allocates nothing).</summary>
    public Hl7SegmentList Segments => new(this);

    /// <summary>The segments with the given id, in order.</summary>
    public IEnumerable<Hl7Segment> SegmentsNamed(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Length != 3)
            yield break;
        var key = Hl7Scan.Key(id);
        for (var i = 0; i < SegmentCount; i++)
        {
            if (KeyAt(i) == key)
                yield return GetSegment(i);
        }
    }

    /// <summary>The first segment with the given id.</summary>
    public bool TryGetSegment(string id, out Hl7Segment segment) => TryGetSegment(id, 1, out segment);

    /// <summary>The <paramref name="occurrence"/>-th (1-based) segment with the given id.</summary>
    public bool TryGetSegment(string id, int occurrence, out Hl7Segment segment)
    {
        ArgumentNullException.ThrowIfNull(id);
        segment = default;
        if (id.Length != 3 || occurrence < 1)
            return false;
        var key = Hl7Scan.Key(id);
        for (var i = 0; i < SegmentCount; i++)
        {
            if (KeyAt(i) == key && --occurrence == 0)
            {
                segment = GetSegment(i);
                return true;
            }
        }
        return false;
    }

    private int KeyAt(int index) => Hl7Scan.Key(Raw.Span[_bounds[2 * index]..]);

    /// <summary>
    /// The decoded value at a path such as <c>PID-3[2].4.2</c>, or null when absent or empty. The HL7 explicit null
    /// (<c>""</c>) is returned as written (two quotes); <see cref="Hl7Field.IsNull"/> tells it apart.
    /// </summary>
    /// <exception cref="ArgumentException">The path is malformed (use <see cref="Hl7Path.TryParse"/> for untrusted paths).</exception>
    public string? Get(string path) => Get(Hl7Path.Parse(path));

    /// <summary>The decoded value at a precompiled path, or null when absent or empty.</summary>
    public string? Get(Hl7Path path)
    {
        var node = Locate(path);
        return node.IsEmpty ? null : node.Value;
    }

    /// <summary>The element at a path (an empty field when absent).</summary>
    public Hl7Field Locate(Hl7Path path)
    {
        if (path.SegmentId is null || !TryGetSegment(path.SegmentId, Math.Max(1, path.Occurrence), out var segment))
            return default;
        var node = segment.GetField(path.Field).GetRepetition(Math.Max(1, path.Repetition));
        if (path.Component > 0)
            node = node.GetComponent(path.Component);
        if (path.SubComponent > 0)
            node = node.GetSubComponent(path.SubComponent);
        return node;
    }

    private Hl7Segment Header => GetSegment(0);

    /// <summary>MSH-3 as <c>namespace^id^type</c> with trailing empty components dropped.</summary>
    public string? SendingApplication => HdText(Header.GetField(3));
    /// <summary>MSH-4 as <c>namespace^id^type</c> with trailing empty components dropped.</summary>
    public string? SendingFacility => HdText(Header.GetField(4));
    /// <summary>MSH-5 as <c>namespace^id^type</c> with trailing empty components dropped.</summary>
    public string? ReceivingApplication => HdText(Header.GetField(5));
    /// <summary>MSH-6 as <c>namespace^id^type</c> with trailing empty components dropped.</summary>
    public string? ReceivingFacility => HdText(Header.GetField(6));
    /// <summary>MSH-9.1.</summary>
    public string? MessageType => Header.GetField(9).GetComponent(1).ValueOrNull;
    /// <summary>MSH-9.2.</summary>
    public string? TriggerEvent => Header.GetField(9).GetComponent(2).ValueOrNull;
    /// <summary>MSH-9.3.</summary>
    public string? MessageStructure => Header.GetField(9).GetComponent(3).ValueOrNull;
    /// <summary>MSH-10.</summary>
    public string? ControlId => Header.GetField(10).GetRepetition(1).ValueOrNull;
    /// <summary>MSH-11.1.</summary>
    public string? ProcessingId => Header.GetField(11).GetComponent(1).ValueOrNull;
    /// <summary>MSH-12.1, e.g. <c>2.5</c> for <c>2.5^FRA^2.11</c>.</summary>
    public string? Version => Header.GetField(12).GetComponent(1).ValueOrNull;
    /// <summary>MSH-15.</summary>
    public string? AcceptAckType => Header.GetField(15).GetRepetition(1).ValueOrNull;
    /// <summary>MSH-16.</summary>
    public string? ApplicationAckType => Header.GetField(16).GetRepetition(1).ValueOrNull;

    /// <summary>
    /// MSH-21, one entry per repetition, each the repetition's full text (e.g. <c>2.11^IHE_FRANCE-2.11-PAM</c>:
    /// component 1 alone is often only a version number). Empty when absent.
    /// </summary>
    public IReadOnlyList<string> ProfileIds
    {
        get
        {
            var profiles = Header.GetField(21);
            var count = profiles.RepetitionCount;
            if (count == 0)
                return [];
            var list = new List<string>(count);
            for (var i = 1; i <= count; i++)
            {
                var rep = profiles.GetRepetition(i);
                if (!rep.IsEmpty)
                    list.Add(rep.Value);
            }
            return list;
        }
    }

    /// <summary>True when MSH-15 or MSH-16 is valued: HL7 enhanced acknowledgement mode.</summary>
    public bool IsEnhancedAckMode => !Header.GetField(15).IsEmpty || !Header.GetField(16).IsEmpty;

    private string? HdText(Hl7Field field)
    {
        var rep = field.GetRepetition(1);
        var count = rep.ComponentCount;
        while (count > 0 && rep.GetComponent(count).IsEmpty)
            count--;
        if (count == 0)
            return null;
        if (count == 1)
            return rep.GetComponent(1).Value;
        // Components 1..count joined with '^' are the repetition's own bytes up to the end of component `count` when
        // '^' is the component separator and nothing needs unescaping. Every charset a message can have (ASCII,
        // ISO-8859-1/15, valid UTF-8) decodes '^' alone, so decoding the whole gives the same text as joining the
        // decoded components.
        var raw = rep.RawBytes;
        if (Delimiters.Component == (byte)'^' && (!Delimiters.HasEscape || raw.IndexOf(Delimiters.Escape) < 0)
            && Hl7Scan.TryGetPiece(raw, Delimiters.Component, count, out var offset, out var length))
            return Hl7Charsets.GetString(Encoding, raw[..(offset + length)]);
        var sb = new StringBuilder();
        for (var i = 1; i <= count; i++)
        {
            if (i > 1)
                sb.Append('^');
            sb.Append(rep.GetComponent(i).Value);
        }
        return sb.ToString();
    }

    /// <summary>Reads one message. Never throws for bad input: the error is in the result.</summary>
    public static Hl7ParseResult Parse(ReadOnlyMemory<byte> bytes)
    {
        var span = bytes.Span;
        if (span.IsEmpty)
            return Fail(0, null, 0, "empty message");
        var pos = Hl7Scan.SkipPreamble(span);
        if (pos >= span.Length)
            return Fail(0, null, 0, "empty message");
        var first = span[pos..];
        if (!first.StartsWith("MSH"u8))
        {
            if (!Hl7Scan.LooksLikeSegment(first))
                return Fail(0, null, 0, "not HL7 v2: " + Hl7Scan.Describe(first));
            if (Hl7Scan.IsId(first, "FHS"u8) || Hl7Scan.IsId(first, "BHS"u8))
                return Fail(1, Hl7Scan.Id(first), 0, "batch envelope: split the input with Hl7Batch.Split");
            return Fail(1, null, 0, "no MSH segment");
        }
        var firstEnd = first.IndexOfAny(Hl7Scan.Cr, Hl7Scan.Lf);
        var header = firstEnd < 0 ? first : first[..firstEnd];
        if (!Hl7Delimiters.TryRead(header, out var delimiters, out var delimiterError))
            return Fail(1, "MSH", delimiterError!.Contains("MSH-1", StringComparison.Ordinal) ? 1 : 2, delimiterError);

        var pool = ArrayPool<int>.Shared.Rent(64);
        try
        {
            var n = 0;
            var segmentNumber = 0;
            var start = pos;
            while (start < span.Length)
            {
                var lineLength = span[start..].IndexOfAny(Hl7Scan.Cr, Hl7Scan.Lf);
                var end = lineLength < 0 ? span.Length : start + lineLength;
                var line = span[start..end];
                if (!Hl7Scan.IsBlankLine(line))
                {
                    segmentNumber++;
                    if (line.Length < 3 || !Hl7Scan.IsIdByte(line[0]) || !Hl7Scan.IsIdByte(line[1]) || !Hl7Scan.IsIdByte(line[2])
                        || (line.Length > 3 && line[3] != delimiters.Field))
                        return Fail(segmentNumber, null, 0, "invalid segment id: " + Hl7Scan.Describe(line) + " (expected 3 upper-case letters or digits and a field separator)");
                    if (segmentNumber > 1)
                    {
                        if (Hl7Scan.IsId(line, "MSH"u8))
                            return Fail(segmentNumber, "MSH", 0, "second MSH segment: several messages; split them with Hl7Batch.Split");
                        if (Hl7Scan.IsId(line, "FHS"u8) || Hl7Scan.IsId(line, "BHS"u8) || Hl7Scan.IsId(line, "BTS"u8) || Hl7Scan.IsId(line, "FTS"u8))
                            return Fail(segmentNumber, Hl7Scan.Id(line), 0, "batch envelope segment: split the input with Hl7Batch.Split");
                    }
                    if (n + 2 > pool.Length)
                    {
                        var bigger = ArrayPool<int>.Shared.Rent(pool.Length * 2);
                        pool.AsSpan(0, n).CopyTo(bigger);
                        ArrayPool<int>.Shared.Return(pool);
                        pool = bigger;
                    }
                    pool[n++] = start;
                    pool[n++] = end;
                }
                start = end + 1;
            }
            var bounds = pool.AsSpan(0, n).ToArray();
            var charsetField = FindField(span[bounds[0]..bounds[1]], delimiters, 18);
            if (delimiters.HasRepetition)
            {
                var r = charsetField.IndexOf(delimiters.Repetition);
                if (r >= 0)
                    charsetField = charsetField[..r];
            }
            var encoding = Hl7Charsets.Resolve(charsetField, span, out var fellBack);
            return new Hl7ParseResult(new Hl7Message(bytes, bounds, delimiters, encoding, fellBack), null);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(pool);
        }
    }

    /// <summary>The raw bytes of MSH-n (n ≥ 3) of a header segment.</summary>
    private static ReadOnlySpan<byte> FindField(ReadOnlySpan<byte> msh, Hl7Delimiters d, int n) =>
        Hl7Scan.TryGetPiece(msh, d.Field, n, out var offset, out var length) ? msh.Slice(offset, length) : default;

    private static Hl7ParseResult Fail(int segment, string? id, int field, string reason) =>
        new(null, new Hl7Error(segment, id, field, reason));
}

/// <summary>The segments of a message, as a list that enumerates without allocating.</summary>
public readonly struct Hl7SegmentList : IReadOnlyList<Hl7Segment>
{
    private readonly Hl7Message _message;

    internal Hl7SegmentList(Hl7Message message) => _message = message;

    public int Count => _message.SegmentCount;

    public Hl7Segment this[int index] => _message.GetSegment(index);

    public Enumerator GetEnumerator() => new(_message);

    IEnumerator<Hl7Segment> IEnumerable<Hl7Segment>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Walks the segments in order.</summary>
    public struct Enumerator : IEnumerator<Hl7Segment>
    {
        private readonly Hl7Message _message;
        private int _index;

        internal Enumerator(Hl7Message message)
        {
            _message = message;
            _index = -1;
        }

        public readonly Hl7Segment Current => _message.GetSegment(_index);

        readonly object IEnumerator.Current => Current;

        public bool MoveNext() => ++_index < _message.SegmentCount;

        public void Reset() => _index = -1;

        public readonly void Dispose()
        {
        }
    }
}
