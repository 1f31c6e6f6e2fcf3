namespace Dmp.Mapping;

/// <summary>
/// Why an input could not be mapped, with its position: a segment and field for HL7 v2, a line and
/// column for XML. Errors are values: malformed input is data, not an exception.
/// </summary>
public sealed record MapError(string Reason, int SegmentIndex = 0, string? SegmentId = null, int Field = 0, int Line = 0, int Column = 0)
{
    /// <summary>One line naming the file, the position and the reason (DESIGN.md's CLI error format).</summary>
    public string Format(string file)
    {
        if (Line > 0)
            return $"{file}:{Line}:{Math.Max(Column, 1)}: {Reason}";
        var position = "";
        if (SegmentIndex > 0)
            position += SegmentId is null ? $" segment {SegmentIndex}" : $" segment {SegmentIndex} ({SegmentId})";
        if (Field > 0)
            position += $" field {Field}";
        return $"{file}:{position}: {Reason}".Replace(":: ", ": ", StringComparison.Ordinal);
    }
}
