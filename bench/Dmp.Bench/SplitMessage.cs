using System.Text;

namespace Dmp.Bench;

/// <summary>
/// The baseline our reader must beat: the HL7 reader most projects start with. It decodes the whole message as UTF-8,
/// then splits it with <see cref="string.Split(char[])"/> into segments, each segment into fields and each field into
/// components, eagerly, whether or not anyone reads them. No escapes, no charsets, no repetitions.
/// </summary>
public sealed class SplitMessage
{
    private static readonly char[] SegmentSeparators = ['\r', '\n'];

    private SplitMessage(SplitSegment[] segments) => Segments = segments;

    public IReadOnlyList<SplitSegment> Segments { get; }

    public static SplitMessage Parse(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var lines = text.Split(SegmentSeparators, StringSplitOptions.RemoveEmptyEntries);
        // MSH-1 and MSH-2 declare the separators, as any reader must honour.
        var fieldSeparator = text.Length > 3 ? text[3] : '|';
        var componentSeparator = text.Length > 4 ? text[4] : '^';
        var segments = new SplitSegment[lines.Length];
        for (var i = 0; i < lines.Length; i++)
        {
            var fields = lines[i].Split(fieldSeparator);
            var components = new string[fields.Length][];
            for (var f = 0; f < fields.Length; f++)
                components[f] = fields[f].Split(componentSeparator);
            segments[i] = new SplitSegment(fields[0], fields, components);
        }
        return new SplitMessage(segments);
    }

    /// <summary>Field <paramref name="field"/> of the first segment named <paramref name="segmentId"/> (not for MSH), or null.</summary>
    public string? Get(string segmentId, int field)
    {
        foreach (var segment in Segments)
        {
            if (segment.Id == segmentId)
                return field < segment.Fields.Length && segment.Fields[field].Length > 0 ? segment.Fields[field] : null;
        }
        return null;
    }

    /// <summary>The baseline's encoder: fields joined back, segments ended with CR, UTF-8 encoded.</summary>
    public byte[] Encode()
    {
        var text = new StringBuilder();
        foreach (var segment in Segments)
            text.Append(string.Join('|', segment.Fields)).Append('\r');
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}

/// <summary>One segment of a <see cref="SplitMessage"/>: its fields (index 0 is the id) and each field's components.</summary>
public sealed record SplitSegment(string Id, string[] Fields, string[][] Components);
