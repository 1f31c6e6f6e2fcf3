using System.Text;
using System.Text.RegularExpressions;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>One field of a raw segment as the console shows it: its number, its name and its text, escapes left as they are.</summary>
public sealed record RawField(int Number, string? Name, string Value, bool Failing);

/// <summary>One segment of a raw HL7 v2 message.</summary>
public sealed record RawSegment(int Index, string Id, IReadOnlyList<RawField> Fields, bool Failing);

/// <summary>The position an error names: a segment (by index and/or id) and a field; zero when not named.</summary>
public sealed record ErrorPosition(int SegmentIndex, string? SegmentId, int Field);

/// <summary>
/// Splits a raw HL7 v2 message into segments and fields for display. Nothing is decoded: `\F\`, `\S\` and the other
/// escapes stay as sent, so the operator sees the bytes the sender wrote.
/// </summary>
public static partial class RawSegments
{
    public static IReadOnlyList<RawSegment> Split(byte[] raw, ErrorPosition? failing, Hl7FieldNames names)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(names);
        var text = Encoding.Latin1.GetString(raw);
        if (text.Length > 3 && text.StartsWith("MSH", StringComparison.Ordinal) is false)
        {
            var msh = text.IndexOf("MSH", StringComparison.Ordinal);
            if (msh > 0)
                text = text[msh..];
        }
        var separator = text.Length > 3 && text.StartsWith("MSH", StringComparison.Ordinal) ? text[3] : '|';
        var lines = text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var segments = new List<RawSegment>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var parts = lines[i].Split(separator);
            var id = parts[0];
            var segmentFails = failing is { } f && (f.SegmentIndex == i + 1 || (f.SegmentIndex == 0 && f.SegmentId == id));
            var fields = new List<RawField>();
            if (id == "MSH")
            {
                // MSH-1 is the separator itself, MSH-2 the encoding characters: the numbering is one ahead of the split.
                fields.Add(new RawField(1, names.Name(id, 1), separator.ToString(), segmentFails && failing!.Field == 1));
                for (var n = 1; n < parts.Length; n++)
                    fields.Add(new RawField(n + 1, names.Name(id, n + 1), parts[n], segmentFails && failing!.Field == n + 1));
            }
            else
            {
                for (var n = 1; n < parts.Length; n++)
                    fields.Add(new RawField(n, names.Name(id, n), parts[n], segmentFails && failing!.Field == n));
            }
            segments.Add(new RawSegment(i + 1, id, fields, segmentFails));
        }

        return segments;
    }

    /// <summary>
    /// The position a stored error names, as <see cref="Dmp.Mapping.MapError.Format"/> writes it ("segment 3 (PID) field 7")
    /// or as a field path ("PID-7"); null when it names none.
    /// </summary>
    public static ErrorPosition? Position(string? error)
    {
        if (string.IsNullOrEmpty(error))
            return null;
        var formatted = FormattedPosition().Match(error);
        if (formatted.Success)
        {
            var field = formatted.Groups["field"].Success ? int.Parse(formatted.Groups["field"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
            return new ErrorPosition(int.Parse(formatted.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture),
                formatted.Groups["id"].Success ? formatted.Groups["id"].Value : null, field);
        }
        var path = FieldPath().Match(error);
        return path.Success
            ? new ErrorPosition(0, path.Groups["id"].Value, int.Parse(path.Groups["field"].Value, System.Globalization.CultureInfo.InvariantCulture))
            : null;
    }

    [GeneratedRegex(@"segment (?<index>\d+)(?: \((?<id>[A-Z0-9]{3})\))?(?: field (?<field>\d+))?")]
    private static partial Regex FormattedPosition();

    [GeneratedRegex(@"\b(?<id>[A-Z][A-Z0-9]{2})-(?<field>\d+)\b")]
    private static partial Regex FieldPath();
}
