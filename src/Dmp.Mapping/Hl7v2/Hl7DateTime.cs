using System.Globalization;
using System.Text;

namespace Dmp.Mapping.Hl7v2;

/// <summary>How much of a date-time an HL7 TS/DTM value gives (same order as <c>Dmp.Model.DateTimePrecision</c>).</summary>
public enum Hl7Precision
{
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Fraction,
}

/// <summary>
/// An HL7 TS/DTM value, <c>YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]</c>, with the precision and offset the
/// sender gave. Invalid calendar values (month 13, 30 February, hour 25 …) do not parse.
/// </summary>
public readonly record struct Hl7DateTime
{
    private Hl7DateTime(DateTime local, Hl7Precision precision, TimeSpan? offset, string fraction)
    {
        Local = local;
        Precision = precision;
        Offset = offset;
        _fraction = fraction;
    }

    private readonly string? _fraction;

    /// <summary>The date-time as written (unspecified kind); parts beyond the precision are 1 (month, day) or 0.</summary>
    public DateTime Local { get; }

    public Hl7Precision Precision { get; }

    /// <summary>The UTC offset when the value gives one.</summary>
    public TimeSpan? Offset { get; }

    /// <summary>The fraction-of-second digits as written (empty below <see cref="Hl7Precision.Fraction"/>).</summary>
    public string FractionDigits => _fraction ?? string.Empty;

    /// <summary>The instant, when the value gives an offset.</summary>
    public DateTimeOffset? ToDateTimeOffset() => Offset is { } o ? new DateTimeOffset(Local, o) : null;

    /// <summary>Reads component 1 of a TS (or a DTM) element.</summary>
    public static bool TryParse(Hl7Field field, out Hl7DateTime value)
    {
        var component = field.GetComponent(1);
        if (component.IsEmpty)
        {
            value = default;
            return false;
        }
        var raw = component.RawBytes;
        if (raw.Length > 40)
        {
            value = default;
            return false;
        }
        Span<char> chars = stackalloc char[raw.Length];
        for (var i = 0; i < raw.Length; i++)
            chars[i] = (char)raw[i];
        return TryParse(chars, out value);
    }

    public static bool TryParse(string? text, out Hl7DateTime value) => TryParse(text.AsSpan(), out value);

    public static bool TryParse(ReadOnlySpan<char> text, out Hl7DateTime value)
    {
        value = default;
        text = text.Trim();
        // Offset: the last '+' or '-' (a date has no sign of its own).
        TimeSpan? offset = null;
        var sign = text.LastIndexOfAny('+', '-');
        if (sign >= 0)
        {
            var z = text[(sign + 1)..];
            if (z.Length != 4 || !AllDigits(z))
                return false;
            var oh = Number(z[..2]);
            var om = Number(z[2..]);
            if (oh > 14 || om > 59)
                return false;
            var span = new TimeSpan(oh, om, 0);
            offset = text[sign] == '-' ? -span : span;
            text = text[..sign];
        }
        var fraction = ReadOnlySpan<char>.Empty;
        var dot = text.IndexOf('.');
        if (dot >= 0)
        {
            fraction = text[(dot + 1)..];
            text = text[..dot];
            if (text.Length != 14 || fraction.Length is < 1 or > 4 || !AllDigits(fraction))
                return false;
        }
        if (!AllDigits(text))
            return false;
        Hl7Precision precision;
        switch (text.Length)
        {
            case 4: precision = Hl7Precision.Year; break;
            case 6: precision = Hl7Precision.Month; break;
            case 8: precision = Hl7Precision.Day; break;
            case 10: precision = Hl7Precision.Hour; break;
            case 12: precision = Hl7Precision.Minute; break;
            case 14: precision = fraction.IsEmpty ? Hl7Precision.Second : Hl7Precision.Fraction; break;
            default: return false;
        }
        var year = Number(text[..4]);
        var month = text.Length >= 6 ? Number(text[4..6]) : 1;
        var day = text.Length >= 8 ? Number(text[6..8]) : 1;
        var hour = text.Length >= 10 ? Number(text[8..10]) : 0;
        var minute = text.Length >= 12 ? Number(text[10..12]) : 0;
        var second = text.Length >= 14 ? Number(text[12..14]) : 0;
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
            return false;
        var ticks = 0L;
        if (!fraction.IsEmpty)
        {
            ticks = Number(fraction);
            for (var k = fraction.Length; k < 7; k++)
                ticks *= 10;
        }
        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(ticks);
        value = new Hl7DateTime(local, precision, offset, fraction.ToString());
        return true;
    }

    /// <summary>A FHIR <c>date</c>: <c>YYYY</c>, <c>YYYY-MM</c> or <c>YYYY-MM-DD</c> (time parts are dropped).</summary>
    public string ToFhirDate() => Precision switch
    {
        Hl7Precision.Year => Local.ToString("yyyy", CultureInfo.InvariantCulture),
        Hl7Precision.Month => Local.ToString("yyyy'-'MM", CultureInfo.InvariantCulture),
        _ => Local.ToString("yyyy'-'MM'-'dd", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// A valid FHIR <c>dateTime</c>. FHIR requires a zone as soon as there is a time, so a value with a time but no
    /// offset is truncated to its day (use <see cref="ToFhirDateTime(TimeZoneInfo)"/> to keep the time by assuming a
    /// zone). Hour and minute precision are written with <c>:00</c> seconds, as FHIR has no shorter time.
    /// </summary>
    public string ToFhirDateTime() =>
        Precision <= Hl7Precision.Day || Offset is null ? ToFhirDate() : FormatWithTime(Offset.Value);

    /// <summary>A FHIR <c>dateTime</c> keeping the time: the value's own offset, else <paramref name="assumedZone"/>'s offset at that time.</summary>
    public string ToFhirDateTime(TimeZoneInfo assumedZone)
    {
        ArgumentNullException.ThrowIfNull(assumedZone);
        if (Precision <= Hl7Precision.Day)
            return ToFhirDate();
        return FormatWithTime(Offset ?? assumedZone.GetUtcOffset(Local));
    }

    private string FormatWithTime(TimeSpan offset)
    {
        var sb = new StringBuilder(32);
        sb.Append(Local.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss", CultureInfo.InvariantCulture));
        if (Precision == Hl7Precision.Fraction)
            sb.Append('.').Append(FractionDigits);
        sb.Append(offset < TimeSpan.Zero ? '-' : '+');
        var abs = offset.Duration();
        sb.Append(abs.Hours.ToString("00", CultureInfo.InvariantCulture)).Append(':').Append(abs.Minutes.ToString("00", CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary>The value in HL7 form, at its precision, with its offset.</summary>
    public override string ToString()
    {
        var format = Precision switch
        {
            Hl7Precision.Year => "yyyy",
            Hl7Precision.Month => "yyyyMM",
            Hl7Precision.Day => "yyyyMMdd",
            Hl7Precision.Hour => "yyyyMMddHH",
            Hl7Precision.Minute => "yyyyMMddHHmm",
            _ => "yyyyMMddHHmmss",
        };
        var text = Local.ToString(format, CultureInfo.InvariantCulture);
        if (Precision == Hl7Precision.Fraction)
            text += "." + FractionDigits;
        if (Offset is { } o)
            text += (o < TimeSpan.Zero ? "-" : "+") + o.Duration().ToString("hhmm", CultureInfo.InvariantCulture);
        return text;
    }

    private static bool AllDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
                return false;
        }
        return !s.IsEmpty;
    }

    private static int Number(ReadOnlySpan<char> s)
    {
        var v = 0;
        foreach (var c in s)
            v = v * 10 + (c - '0');
        return v;
    }
}

public readonly partial struct Hl7Field
{
    /// <summary>This element read as TS/DTM, or null when empty or invalid.</summary>
    public Hl7DateTime? AsDateTime() => Hl7DateTime.TryParse(this, out var v) ? v : null;
}
