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
