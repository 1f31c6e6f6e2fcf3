namespace Dmp.Mapping.Hl7v2;

/// <summary>
/// Where and why an HL7 v2 input could not be read. A value, never an exception: a malformed message is data.
/// </summary>
/// <param name="SegmentIndex">1-based position of the segment in the message; 0 when the error has no segment.</param>
/// <param name="SegmentId">The segment's id when known.</param>
/// <param name="Field">HL7 field number; 0 when the error is not about one field.</param>
/// <param name="Reason">Readable reason, without the location.</param>
public readonly record struct Hl7Error(int SegmentIndex, string? SegmentId, int Field, string Reason)
{
    /// <summary>`segment 3 (PID) field 5: reason`, leaving out the parts that are not known.</summary>
    public override string ToString()
    {
        if (SegmentIndex <= 0 && Field <= 0 && SegmentId is null)
            return Reason;
        var sb = new System.Text.StringBuilder(Reason.Length + 32);
        if (SegmentIndex > 0)
            sb.Append("segment ").Append(SegmentIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (SegmentId is not null)
        {
            if (sb.Length > 0)
                sb.Append(' ');
            sb.Append('(').Append(SegmentId).Append(')');
        }
        if (Field > 0)
        {
            if (sb.Length > 0)
                sb.Append(' ');
            sb.Append("field ").Append(Field.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.Append(": ").Append(Reason).ToString();
    }
}
