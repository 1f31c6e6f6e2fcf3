using Dmp.Ingest.Worker.Operator;
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

    /// <summary>The filters given (empty members left out), by their API names.</summary>
    public IEnumerable<(string Name, string Value)> Fields() =>
        new (string Name, string? Value)[]
        {
            ("sender", Sender), ("controlId", ControlId), ("status", Status), ("since", Since), ("until", Until),
            ("patient", Patient), ("type", Type), ("document", Document),
        }.Where(p => !string.IsNullOrWhiteSpace(p.Value)).Select(p => (p.Name, p.Value!.Trim()));

    /// <summary>The query string of these filters (empty members left out), for links and paging.</summary>
    public string Query(string? cursor = null)
    {
        var pairs = Fields().Concat(string.IsNullOrWhiteSpace(cursor) ? [] : [("cursor", cursor.Trim())]);
        var query = string.Join('&', pairs.Select(p => p.Item1 + "=" + Uri.EscapeDataString(p.Item2)));
        return query.Length == 0 ? "" : "?" + query;
    }

    /// <summary>The filters a posted form carries (the bulk replay's confirmation).</summary>
    public static ConsoleFilters FromForm(IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(form);
        string? Get(string name) => form.TryGetValue(name, out var v) ? v.ToString() : null;
        return new ConsoleFilters
        {
            Sender = Get("sender"), ControlId = Get("controlId"), Status = Get("status"), Since = Get("since"), Until = Get("until"),
            Patient = Get("patient"), Type = Get("type"), Document = Get("document"),
        };
    }

    /// <summary>
    /// The one mapping of the form to the store's filter, by the API's own reading (<see cref="MessageFilters.Read"/>): the
    /// same filters, the same errors as `GET /api/messages`; an empty field filters nothing.
    /// </summary>
    public (InboxFilter? Filter, string? Error) ToInboxFilter() =>
        MessageFilters.Read(name => Blank(name switch
        {
            "sender" => Sender,
            "controlId" => ControlId,
            "status" => Status,
            "since" => Since,
            "until" => Until,
            "patient" => Patient,
            "type" => Type,
            "document" => Document,
            _ => null,
        }));

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
