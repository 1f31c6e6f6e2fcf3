using System.Globalization;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>The messages page's filters, as its form and its query string carry them (the API's parameter names).</summary>
public sealed record ConsoleFilters
{
    public string? Sender { get; init; }
    public string? ControlId { get; init; }
    public string? Status { get; init; }
    public string? Since { get; init; }
    public string? Until { get; init; }
    public string? Patient { get; init; }
    public string? Type { get; init; }
    public string? Document { get; init; }

    /// <summary>The query string of these filters (empty members left out), for links and paging.</summary>
    public string Query(string? cursor = null)
    {
        var pairs = new (string Key, string? Value)[]
        {
            ("sender", Sender), ("controlId", ControlId), ("status", Status), ("since", Since), ("until", Until),
            ("patient", Patient), ("type", Type), ("document", Document), ("cursor", cursor),
        };
        var query = string.Join('&', pairs.Where(p => !string.IsNullOrWhiteSpace(p.Value))
            .Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value!.Trim())));
        return query.Length == 0 ? "" : "?" + query;
    }

    /// <summary>
    /// The one mapping of the form to the store's filter. A value that does not parse is a message for the form
    /// (never an exception): the same rules as `GET /api/messages`.
    /// </summary>
    public (InboxFilter? Filter, string? Error) ToInboxFilter()
    {
        var status = Blank(Status);
        if (status is not null && !InboxStatus.All.Contains(status))
            return (null, "status: " + string.Join(", ", InboxStatus.All));
        if (!TryInstant(Since, out var since))
            return (null, "since: ISO 8601, e.g. 2026-11-23T10:00:00Z");
        if (!TryInstant(Until, out _))
            return (null, "until: ISO 8601, e.g. 2026-11-23T10:00:00Z");
        var filter = new InboxFilter
        {
            Sender = Blank(Sender),
            ControlId = Blank(ControlId),
            Status = status,
            Since = since,
            // TODO(issue 18, after the search API merges): InboxFilter gains Patient, MessageType, Document and Until;
            // pass Blank(Patient), Blank(Type), Blank(Document) and the parsed Until through here. Until then the form
            // shows them and they do not filter (the page says so).
        };
        return (filter, null);
    }

    /// <summary>The filters the store does not take yet (shown as not applied); empty once the search API is merged.</summary>
    public IReadOnlyList<string> Pending() =>
        new (string Key, string? Value)[] { ("patient", Patient), ("type", Type), ("document", Document), ("until", Until) }
            .Where(p => Blank(p.Value) is not null).Select(p => p.Key).ToList();

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static bool TryInstant(string? text, out DateTimeOffset? value)
    {
        value = null;
        if (Blank(text) is not { } t)
            return true;
        if (!DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            return false;
        value = parsed;
        return true;
    }
}
