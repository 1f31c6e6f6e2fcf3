using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.Operator;

/// <summary>
/// The operators' search filters, read from a query string (<c>GET /api/messages</c>, <c>/stats</c>) or a JSON body
/// (<c>POST /api/messages/replay</c>): one reading and one set of errors for all. A parameter the route does not know is
/// refused (a misspelt filter must not silently return everything). Identifier values never reach a log.
/// </summary>
public static partial class MessageFilters
{
    /// <summary>The filters, in the order the errors name them.</summary>
    public static readonly IReadOnlyList<string> Names = ["patient", "type", "document", "status", "sender", "controlId", "since", "until"];

    /// <summary>The paging parameters of the listing.</summary>
    public static readonly IReadOnlyList<string> Paging = ["limit", "cursor"];

    /// <summary>The longest identifier value or system searched (the index's column size).</summary>
    public const int MaxIdentifierLength = 200;

    /// <summary>The filter a query string gives, or the error (a sentence for a 400) when a parameter is unknown or malformed.</summary>
    public static (InboxFilter? Filter, string? Error) FromQuery(IQueryCollection query, IReadOnlyList<string> allowed)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(allowed);
        var unknown = query.Keys.Where(k => !allowed.Contains(k, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
            return (null, Unknown(unknown, allowed));
        var repeated = query.Where(p => p.Value.Count > 1).Select(p => p.Key).ToList();
        if (repeated.Count > 0)
            return (null, $"give each parameter once: {string.Join(", ", repeated)} is repeated");
        return Read(name => query.TryGetValue(name, out var v) ? v.ToString() : null);
    }

    /// <summary>The filter a JSON object gives (string members), besides the members in <paramref name="extra"/>, or the error.</summary>
    public static (InboxFilter? Filter, string? Error) FromJson(JsonElement body, IReadOnlyList<string> extra)
    {
        ArgumentNullException.ThrowIfNull(extra);
        if (body.ValueKind != JsonValueKind.Object)
            return (null, "the body must be a JSON object");
        var allowed = Names.Concat(extra).ToList();
        var members = body.EnumerateObject().ToList();
        var unknown = members.Select(m => m.Name).Where(n => !allowed.Contains(n, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
            return (null, Unknown(unknown, allowed));
        var notText = members.Where(m => Names.Contains(m.Name, StringComparer.Ordinal) && m.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            .Select(m => m.Name).ToList();
        if (notText.Count > 0)
            return (null, $"{string.Join(", ", notText)} must be a string");
        return Read(name => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null);
    }

    private static string Unknown(IEnumerable<string> unknown, IEnumerable<string> allowed) =>
        $"unknown parameter {string.Join(", ", unknown.Select(u => u.Length > 40 ? u[..40] + "…" : u))}: the parameters are {string.Join(", ", allowed)}";

    /// <summary>The filter named values give (<paramref name="get"/> answers null for a filter not given), or the error: the console's form reads here too.</summary>
    public static (InboxFilter? Filter, string? Error) Read(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        DateTimeOffset? since = null, until = null;
        if (get("since") is { } sinceText)
        {
            if (!DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var s))
                return (null, "since must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z");
            since = s;
        }

        if (get("until") is { } untilText)
        {
            if (!DateTimeOffset.TryParse(untilText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var u))
                return (null, "until must be an ISO 8601 date-time, e.g. 2026-11-23T11:00:00Z");
            until = u;
        }

        var status = get("status");
        if (status is not null && !InboxStatus.All.Contains(status))
            return (null, $"status must be one of {string.Join(", ", InboxStatus.All)}");

        string? patientSystem = null, patientValue = null;
        if (get("patient") is { } patient)
        {
            // `system|value`, or the value alone (any system). The error never repeats the value.
            var bar = patient.IndexOf('|', StringComparison.Ordinal);
            patientSystem = bar < 0 ? null : patient[..bar].Trim();
            patientValue = (bar < 0 ? patient : patient[(bar + 1)..]).Trim();
            if (patientValue.Length == 0 || patientSystem?.Length == 0)
                return (null, "patient must be an identifier value (an INS or an IPP), or system|value with both parts");
            if (patientValue.Length > MaxIdentifierLength || patientSystem?.Length > MaxIdentifierLength)
                return (null, $"patient: the system and the value are each at most {MaxIdentifierLength} characters");
        }

        string? type = null;
        if (get("type") is { } typeText)
        {
            type = typeText.Trim().ToUpperInvariant();
            if (!MessageType().IsMatch(type))
                return (null, "type must be a message type (ADT: any ADT event) or a type and event (ADT^A01), as MSH-9 gives them");
        }

        string? document = null;
        if (get("document") is { } documentText)
        {
            document = documentText.Trim();
            if (document.StartsWith("urn:oid:", StringComparison.OrdinalIgnoreCase))
                document = document[8..];
            if (document.Length is 0 or > 400)
                return (null, "document must be a document uniqueId or setId (root, or root^extension), at most 400 characters");
        }

        return (new InboxFilter
        {
            Sender = get("sender"),
            ControlId = get("controlId"),
            Status = status,
            Since = since,
            Until = until,
            PatientSystem = patientSystem,
            PatientValue = patientValue,
            Type = type,
            Document = document,
        }, null);
    }

    [GeneratedRegex(@"^[A-Z0-9_]{1,20}(\^[A-Z0-9_]{1,20})?$", RegexOptions.CultureInvariant)]
    private static partial Regex MessageType();
}
