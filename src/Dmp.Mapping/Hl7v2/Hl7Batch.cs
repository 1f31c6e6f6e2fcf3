using System.Globalization;

namespace Dmp.Mapping.Hl7v2;

/// <summary>What <see cref="Hl7Batch.Split"/> found: the messages, the envelope segments, warnings, or an error.</summary>
public sealed class Hl7BatchResult
{
    internal Hl7BatchResult(
        IReadOnlyList<ReadOnlyMemory<byte>> messages,
        ReadOnlyMemory<byte>? fileHeader,
        ReadOnlyMemory<byte>? batchHeader,
        ReadOnlyMemory<byte>? batchTrailer,
        ReadOnlyMemory<byte>? fileTrailer,
        int batchCount,
        IReadOnlyList<string> warnings,
        Hl7Error? error)
    {
        Messages = messages;
        FileHeader = fileHeader;
        BatchHeader = batchHeader;
        BatchTrailer = batchTrailer;
        FileTrailer = fileTrailer;
        BatchCount = batchCount;
        Warnings = warnings;
        Error = error;
    }

    /// <summary>Each message from its <c>MSH</c> to the terminator of its last segment, envelope segments left out.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Messages { get; }
    /// <summary>The FHS segment's bytes, when the input has one.</summary>
    public ReadOnlyMemory<byte>? FileHeader { get; }
    /// <summary>The first BHS segment's bytes, when the input has one.</summary>
    public ReadOnlyMemory<byte>? BatchHeader { get; }
    /// <summary>The last BTS segment's bytes, when the input has one.</summary>
    public ReadOnlyMemory<byte>? BatchTrailer { get; }
    /// <summary>The FTS segment's bytes, when the input has one.</summary>
    public ReadOnlyMemory<byte>? FileTrailer { get; }
    /// <summary>Number of BHS segments.</summary>
    public int BatchCount { get; }
    /// <summary>Things that do not stop reading: trailer counts that disagree, segments outside any message …</summary>
    public IReadOnlyList<string> Warnings { get; }
    public Hl7Error? Error { get; }
    public bool Success => Error is null;
}

/// <summary>
/// Splits an input into its HL7 v2 messages: an FHS/BHS … BTS/FTS batch, or several messages one after another
/// (a new <c>MSH</c> at the start of a line begins a new message), or a single message.
/// </summary>
public static class Hl7Batch
{
    public static Hl7BatchResult Split(ReadOnlyMemory<byte> bytes)
    {
        var span = bytes.Span;
        var warnings = new List<string>();
        if (span.IsEmpty)
            return Failed(new Hl7Error(0, null, 0, "empty message"), warnings);
        var pos = Hl7Scan.SkipPreamble(span);
        if (pos >= span.Length)
            return Failed(new Hl7Error(0, null, 0, "empty message"), warnings);
        if (!Hl7Scan.LooksLikeSegment(span[pos..]))
            return Failed(new Hl7Error(0, null, 0, "not HL7 v2: " + Hl7Scan.Describe(span[pos..])), warnings);

        var messages = new List<ReadOnlyMemory<byte>>();
        ReadOnlyMemory<byte>? fileHeader = null, batchHeader = null, batchTrailer = null, fileTrailer = null;
        var fieldSeparator = (byte)'|';
        var separatorKnown = false;
        var messageStart = -1;
        var messageEnd = -1;
        var inBatch = 0; // messages since the last BHS
        var batches = 0;
        var segmentNumber = 0;

        void Close()
        {
            if (messageStart >= 0)
            {
                messages.Add(bytes[messageStart..messageEnd]);
                inBatch++;
            }
            messageStart = -1;
        }

        var start = pos;
        while (start < span.Length)
        {
            var lineLength = span[start..].IndexOfAny(Hl7Scan.Cr, Hl7Scan.Lf);
            var end = lineLength < 0 ? span.Length : start + lineLength;
            var next = end;
            if (next < span.Length)
                next += span[next] == Hl7Scan.Cr && next + 1 < span.Length && span[next + 1] == Hl7Scan.Lf ? 2 : 1;
            var line = span[start..end];
            var lineStart = start;
            start = next;
            if (Hl7Scan.IsBlankLine(line))
                continue;
            segmentNumber++;
            if (!Hl7Scan.LooksLikeSegment(line))
            {
                if (messageStart >= 0)
                {
                    messageEnd = next; // Hl7Message.Parse reports it with its position.
                    continue;
                }
                return Failed(new Hl7Error(segmentNumber, null, 0, "invalid segment id: " + Hl7Scan.Describe(line)), warnings);
            }
            var id = line[..3];
            if (id.SequenceEqual("MSH"u8) || id.SequenceEqual("FHS"u8) || id.SequenceEqual("BHS"u8))
            {
                if (!separatorKnown && line.Length > 3)
                {
                    fieldSeparator = line[3];
                    separatorKnown = true;
                }
            }
            if (id.SequenceEqual("MSH"u8))
            {
                Close();
                messageStart = lineStart;
                messageEnd = next;
            }
            else if (id.SequenceEqual("FHS"u8))
            {
                Close();
                if (fileHeader is not null || messages.Count > 0)
                    warnings.Add($"segment {segmentNumber} (FHS): file header after the start of the file");
                fileHeader ??= bytes[lineStart..end];
            }
            else if (id.SequenceEqual("BHS"u8))
            {
                Close();
                batches++;
                inBatch = 0;
                batchHeader ??= bytes[lineStart..end];
            }
            else if (id.SequenceEqual("BTS"u8))
            {
                Close();
                batchTrailer = bytes[lineStart..end];
                if (TryReadCount(line, fieldSeparator, out var declared) && declared != inBatch)
                    warnings.Add($"segment {segmentNumber} (BTS) field 1: batch message count {declared.ToString(CultureInfo.InvariantCulture)} but the batch holds {inBatch.ToString(CultureInfo.InvariantCulture)} message(s)");
            }
            else if (id.SequenceEqual("FTS"u8))
            {
                Close();
                fileTrailer = bytes[lineStart..end];
                if (TryReadCount(line, fieldSeparator, out var declared) && declared != batches)
                    warnings.Add($"segment {segmentNumber} (FTS) field 1: file batch count {declared.ToString(CultureInfo.InvariantCulture)} but the file holds {batches.ToString(CultureInfo.InvariantCulture)} batch(es)");
            }
            else if (messageStart >= 0)
            {
                messageEnd = next;
            }
            else if (messages.Count == 0 && fileHeader is null && batchHeader is null)
            {
                return Failed(new Hl7Error(segmentNumber, null, 0, "no MSH segment"), warnings);
            }
            else
            {
                warnings.Add($"segment {segmentNumber} ({Hl7Scan.Id(line)}): outside any message, ignored");
            }
        }
        Close();

        if (messages.Count == 0)
        {
            if (fileHeader is null && batchHeader is null)
                return Failed(new Hl7Error(1, null, 0, "no MSH segment"), warnings);
            warnings.Add("the batch holds no message");
        }
        return new Hl7BatchResult(messages, fileHeader, batchHeader, batchTrailer, fileTrailer, batches, warnings, null);
    }

    private static bool TryReadCount(ReadOnlySpan<byte> segment, byte separator, out int count)
    {
        count = 0;
        if (!Hl7Scan.TryGetPiece(segment, separator, 2, out var offset, out var length))
            return false;
        var text = segment.Slice(offset, length).Trim((byte)' ');
        if (text.IsEmpty || text.Length > 9)
            return false;
        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
                return false;
            count = count * 10 + (b - '0');
        }
        return true;
    }

    private static Hl7BatchResult Failed(Hl7Error error, List<string> warnings) =>
        new([], null, null, null, null, 0, warnings, error);
}
