using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Store;
using Dmp.Store.Dossier;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>A search parameter's value the server cannot use: answered 400 with its message.</summary>
public sealed class SearchParameterException(string message) : Exception(message);

/// <summary>
/// Reads a FHIR search's query string: only the parameters the endpoint supports (anything else, modifiers
/// included, is a 400), tokens (`system|code`, comma = or), dates with prefixes and partial precision,
/// strings, `_count`, `_sort` and the server's paging cursor.
/// </summary>
public sealed class SearchParameters
{
    public const int DefaultCount = 20;
    public const string CursorParameter = "_cursor";

    /// <summary>Parameters every search accepts besides its own.</summary>
    private static readonly string[] Common = ["_count", "_sort", "_format", CursorParameter];

    private readonly IQueryCollection _query;

    private SearchParameters(IQueryCollection query) => _query = query;

    /// <summary>Checks that every parameter is one of <paramref name="supported"/> (or a common one).</summary>
    /// <exception cref="SearchParameterException">An unknown parameter.</exception>
    public static SearchParameters Read(HttpRequest request, IReadOnlyCollection<string> supported)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (var key in request.Query.Keys)
        {
            if (!supported.Contains(key) && !Common.Contains(key))
                throw new SearchParameterException($"unknown or unsupported search parameter '{key}'; supported: {string.Join(", ", supported.Concat(Common))}");
        }

        return new SearchParameters(request.Query);
    }

    public bool Has(string name) => _query.ContainsKey(name);

    /// <summary>Every occurrence of the parameter, empty ones refused.</summary>
    public IReadOnlyList<string> All(string name)
    {
        if (!_query.TryGetValue(name, out var values))
            return [];
        var list = new List<string>(values.Count);
        foreach (var value in values)
        {
            if (string.IsNullOrWhiteSpace(value))
                throw new SearchParameterException($"{name} is empty");
            list.Add(value.Trim());
        }

        return list;
    }

    /// <summary>The parameter's only value (null when absent).</summary>
    public string? Single(string name)
    {
        var all = All(name);
        return all.Count switch
        {
            0 => null,
            1 => all[0],
            _ => throw new SearchParameterException($"{name} may be given only once"),
        };
    }

    /// <summary>Token groups: each occurrence is a group of alternatives (`a,b`), each `system|code`, `|code` or `code`.</summary>
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Tokens(string name) =>
        All(name).Select(v => (IReadOnlyList<CodeMatch>)SplitOr(v).Select(t => Token(name, t)).ToList()).ToList();

    /// <summary>Plain strings, comma-separated alternatives per occurrence.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Strings(string name) =>
        All(name).Select(v => (IReadOnlyList<string>)SplitOr(v).ToList()).ToList();

    /// <summary>Date bounds of every occurrence (ANDed).</summary>
    public IReadOnlyList<TimeBound> Dates(string name) => All(name).SelectMany(v => DateBounds(name, v)).ToList();

    /// <summary>`_count`: 1 to <see cref="DossierQueries.MaxPage"/>, default <see cref="DefaultCount"/>.</summary>
    public int Count()
    {
        var text = Single("_count");
        if (text is null)
            return DefaultCount;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > DossierQueries.MaxPage)
            throw new SearchParameterException($"_count must be a whole number from 1 to {DossierQueries.MaxPage}");
        return count;
    }

    /// <summary>`_sort`: `-date` (newest first, the default) or `date`.</summary>
    public bool Ascending()
    {
        return Single("_sort") switch
        {
            null or "-date" => false,
            "date" => true,
            var other => throw new SearchParameterException($"_sort '{other}' is not supported: use -date (default) or date"),
        };
    }

    /// <summary>The page to read: `_count`, `_sort` and where the cursor says the previous page ended.</summary>
    public PageRequest Page() => new(Count(), Ascending(), Single(CursorParameter) is { } cursor ? DecodeCursor(cursor) : null);

    public static string EncodeCursor(PageKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var text = key.SortKey + "~" + key.Id.ToString(CultureInfo.InvariantCulture);
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The page key a cursor of <see cref="EncodeCursor"/> names; null when there is none or it is not one.</summary>
    public static PageKey? CursorOrNull(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
            return null;
        try
        {
            return DecodeCursor(cursor);
        }
        catch (SearchParameterException)
        {
            return null;
        }
    }

    private static PageKey DecodeCursor(string cursor)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            var cut = text.LastIndexOf('~');
            // The sort key may be empty (the audit trail pages by id alone): the cursor is then "~<id>".
            if (cut >= 0 && long.TryParse(text.AsSpan(cut + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                return new PageKey(text[..cut], id);
        }
        catch (FormatException)
        {
        }

        throw new SearchParameterException($"{CursorParameter} is not a cursor this server gave");
    }

    /// <summary>A patient reference: `123`, `Patient/123` or an absolute URL ending so.</summary>
    public static long? PatientReference(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var cut = value.LastIndexOf("Patient/", StringComparison.Ordinal);
        var id = cut >= 0 ? value[(cut + "Patient/".Length)..] : value;
        return long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    private static IEnumerable<string> SplitOr(string value) => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static CodeMatch Token(string name, string text)
    {
        var bar = text.IndexOf('|', StringComparison.Ordinal);
        if (bar < 0)
            return new CodeMatch(text);
        var system = text[..bar];
        var code = text[(bar + 1)..];
        if (code.Length == 0)
            throw new SearchParameterException($"{name} '{text}' has no code after its system");
        return new CodeMatch(code, system.Length == 0 ? null : SystemSpellings(system));
    }

    /// <summary>The ways a stored row may spell the system the client named: the URI, its OID, and the short names senders use.</summary>
    internal static IReadOnlyList<string> SystemSpellings(string system)
    {
        var spellings = new HashSet<string>(StringComparer.Ordinal) { system };
        if (system.StartsWith("urn:oid:", StringComparison.Ordinal))
            spellings.Add(system["urn:oid:".Length..]);
        var uri = CodeSystems.Uri(system.StartsWith("urn:oid:", StringComparison.Ordinal) ? system["urn:oid:".Length..] : system) ?? system;
        spellings.Add(uri);
        foreach (var alias in KnownSystemAliases)
        {
            if (CodeSystems.Uri(alias) == uri)
                spellings.Add(alias);
        }

        return spellings.ToList();
    }

    private static readonly string[] KnownSystemAliases =
    [
        "LN", "LOINC", "2.16.840.1.113883.6.1", "SCT", "SNM", "SNOMED", "2.16.840.1.113883.6.96", "2.16.840.1.113883.5.25",
        "http://loinc.org", "http://snomed.info/sct",
    ];

    private static readonly string[] DateFormats =
    [
        "yyyy", "yyyy-MM", "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
    ];

    /// <summary>A FHIR date parameter as bounds: the value is a range as wide as its precision.</summary>
    internal static IEnumerable<TimeBound> DateBounds(string name, string text)
    {
        if (text.Contains(',', StringComparison.Ordinal))
            throw new SearchParameterException($"{name}: several dates in one parameter are not supported; repeat the parameter instead");
        var prefix = text.Length > 2 && char.IsAsciiLetterLower(text[0]) && char.IsAsciiLetterLower(text[1]) ? text[..2] : "eq";
        var value = prefix == "eq" && !text.StartsWith("eq", StringComparison.Ordinal) ? text : text[2..];
        if (!DateTimeOffset.TryParseExact(value, DateFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var start))
            throw new SearchParameterException($"{name} '{text}' is not a FHIR date (yyyy, yyyy-MM, yyyy-MM-dd or a date-time with its zone), with an optional prefix eq, lt, le, gt, ge, sa or eb");
        var end = value.Length switch
        {
            4 => start.AddYears(1),
            7 => start.AddMonths(1),
            10 => start.AddDays(1),
            16 => start.AddMinutes(1),
            _ when value.Length >= 19 && (value.Length == 19 || value[19] != '.') => start.AddSeconds(1),
            _ => start.AddTicks(1),
        };
        // A zone suffix lengthens the text without changing the precision.
        if (value.Length > 10 && value.Contains('T', StringComparison.Ordinal))
        {
            var time = value[(value.IndexOf('T', StringComparison.Ordinal) + 1)..];
            var zoneAt = time.IndexOfAny(['Z', '+', '-']);
            var clock = zoneAt < 0 ? time : time[..zoneAt];
            end = clock.Length switch
            {
                5 => start.AddMinutes(1),
                8 => start.AddSeconds(1),
                _ => start.AddTicks(1),
            };
        }

        return prefix switch
        {
            "eq" => [new TimeBound(TimeComparison.NotBefore, start), new TimeBound(TimeComparison.Before, end)],
            "lt" or "eb" => [new TimeBound(TimeComparison.Before, start)],
            "le" => [new TimeBound(TimeComparison.Before, end)],
            "gt" or "sa" => [new TimeBound(TimeComparison.NotBefore, end)],
            "ge" => [new TimeBound(TimeComparison.NotBefore, start)],
            _ => throw new SearchParameterException($"{name}: prefix '{prefix}' is not supported (eq, lt, le, gt, ge, sa, eb)"),
        };
    }

    /// <summary>A stored fixed-width UTC time (or any ISO 8601 text a writer left) as an instant.</summary>
    public static DateTimeOffset? StoredInstant(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return null;
        try
        {
            return StoreTime.Read(text);
        }
        catch (FormatException)
        {
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
                ? parsed
                : null;
        }
    }
}
