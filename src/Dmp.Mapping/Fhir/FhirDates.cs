using System.Globalization;
using Dmp.Model;

namespace Dmp.Mapping.Fhir;

/// <summary>
/// Writes partial dates as valid FHIR `date` / `dateTime` text at the precision the sender gave.
/// FHIR requires a zone once hours are given: a time without a zone is kept to the day.
/// </summary>
public static class FhirDates
{
    public static string? ToDate(PartialDateTime value) => value.Precision switch
    {
        DateTimePrecision.Year => value.Value.ToString("yyyy", CultureInfo.InvariantCulture),
        DateTimePrecision.Month => value.Value.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// A FHIR `date` (`yyyy`, `yyyy-MM` or `yyyy-MM-dd`, as <see cref="ToDate"/> writes it and the dossier stores it) at its
    /// precision; null when the text is not one.
    /// </summary>
    public static PartialDateTime? ParseDate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (format, precision) = text.Length switch
        {
            4 => ("yyyy", DateTimePrecision.Year),
            7 => ("yyyy-MM", DateTimePrecision.Month),
            10 => ("yyyy-MM-dd", DateTimePrecision.Day),
            _ => ("", DateTimePrecision.Day),
        };
        return format.Length > 0 && DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? new PartialDateTime(date, precision, null)
            : null;
    }

    public static string? ToDateTime(PartialDateTime value)
    {
        if (value.Precision <= DateTimePrecision.Day || value.Offset is null)
            return ToDate(value);
        var offset = value.Offset.Value;
        var zone = (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);
        var format = value.Precision switch
        {
            DateTimePrecision.Hour or DateTimePrecision.Minute => "yyyy-MM-dd'T'HH:mm':00'",
            DateTimePrecision.Second => "yyyy-MM-dd'T'HH:mm:ss",
            _ => "yyyy-MM-dd'T'HH:mm:ss.fff",
        };
        return value.Value.ToString(format, CultureInfo.InvariantCulture) + zone;
    }
}
