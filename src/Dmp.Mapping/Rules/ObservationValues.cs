using System.Text;
using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Rules;

/// <summary>OBX-5 read by its value type (OBX-2), and reference ranges (OBX-7) read without regex.</summary>
internal static class ObservationValues
{
    public static ObservationValue? Read(Hl7Field field, string? type, MapRun run)
    {
        var first = field.GetRepetition(1);
        switch (type)
        {
            case "NM":
                var nm = first.AsNm();
                if (nm.Value is { } number)
                    return new ObservationValue { Number = number };
                run.Warn($"OBX-5 '{first.Value}' is not a number (type NM): kept as text");
                return new ObservationValue { Text = first.Value };
            case "SN":
                var sn = first.AsSn();
                if (sn.Num1 is null && sn.Num2 is null)
                    return null;
                return new ObservationValue
                {
                    Comparator = string.IsNullOrEmpty(sn.Comparator) ? null : sn.Comparator,
                    Number = sn.Num1,
                    Separator = string.IsNullOrEmpty(sn.SeparatorSuffix) ? null : sn.SeparatorSuffix,
                    Number2 = sn.Num2,
                };
            case "CE" or "CWE" or "CNE" or "CF":
                return Shapes.ToCode(first, null) is { } code ? new ObservationValue { Coded = code } : null;
            case "DT" or "TS" or "DTM":
                return Hl7DateTime.TryParse(first, out var date) ? new ObservationValue { Date = MapRun.ToPartial(date, null) } : new ObservationValue { Text = first.Value };
            case "ED" or "RP":
                return null;
            default:
                if (field.RepetitionCount <= 1)
                    return first.IsEmpty ? null : new ObservationValue { Text = first.Value };
                var sb = new StringBuilder();
                for (var r = 1; r <= field.RepetitionCount; r++)
                {
                    if (r > 1)
                        sb.Append('\n');
                    sb.Append(field.GetRepetition(r).Value);
                }
                return new ObservationValue { Text = sb.ToString() };
        }
    }

    /// <summary>`3.5-5.0`, `&lt;5`, `&gt;10`, `&lt;=5`, or any text (kept as text, bounds unknown).</summary>
    public static ReferenceRange Range(string text)
    {
        var t = text.Trim();
        if (t.StartsWith("<=", StringComparison.Ordinal) || t.StartsWith('<'))
            return new ReferenceRange(text, null, Number(t.TrimStart('<', '=')));
        if (t.StartsWith(">=", StringComparison.Ordinal) || t.StartsWith('>'))
            return new ReferenceRange(text, Number(t.TrimStart('>', '=')), null);
        // From the second character: a leading minus is the low bound's sign. A blank range has no dash at all.
        var dash = t.Length > 1 ? t.IndexOf('-', 1) : -1;
        if (dash > 0)
        {
            var low = Number(t[..dash]);
            var high = Number(t[(dash + 1)..]);
            if (low is not null && high is not null)
                return new ReferenceRange(text, low, high);
        }
        return new ReferenceRange(text, null, null);
    }

    private static decimal? Number(string s) => Hl7Nm.TryParse(s.Trim(), out var d) ? d : null;
}
