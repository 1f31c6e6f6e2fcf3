using System.Globalization;

namespace Dmp.Store;

/// <summary>
/// The store's one timestamp encoding, in every table of every dialect (inbox, dossier, audit, schema
/// version; PostgreSQL's inbox columns since migration 0009): UTC, fixed-width ISO 8601 text with seven
/// fraction digits, so that text order is time order and one SQL serves all providers.
/// </summary>
public static class StoreTime
{
    private const string Format = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static string Write(DateTimeOffset value) => value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public static DateTimeOffset Read(string value) =>
        DateTimeOffset.ParseExact(value, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
