using Dmp.Store.Dossier;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>Search results as a FHIR `searchset` Bundle, with `self` and `next` links that keep the query.</summary>
public static class SearchBundles
{
    public static string BaseUrl(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return $"{request.Scheme}://{request.Host}{request.PathBase}/fhir";
    }

    /// <summary>
    /// A searchset of <paramref name="matches"/>, stamped with <paramref name="time"/>'s now; a next link when
    /// <paramref name="next"/> says where the next page starts.
    /// </summary>
    public static F.Bundle Searchset(
        HttpRequest request, TimeProvider time, IEnumerable<F.Resource> matches, PageKey? next, IEnumerable<F.Resource>? outcomes = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(matches);
        var bundle = new F.Bundle { Type = F.Bundle.BundleType.Searchset, Meta = new F.Meta { LastUpdated = time.GetUtcNow() } };
        var baseUrl = BaseUrl(request);
        foreach (var resource in matches)
        {
            bundle.Entry.Add(new F.Bundle.EntryComponent
            {
                FullUrl = $"{baseUrl}/{resource.TypeName}/{resource.Id}",
                Resource = resource,
                Search = new F.Bundle.SearchComponent { Mode = F.Bundle.SearchEntryMode.Match },
            });
        }

        foreach (var outcome in outcomes ?? [])
        {
            bundle.Entry.Add(new F.Bundle.EntryComponent
            {
                Resource = outcome,
                Search = new F.Bundle.SearchComponent { Mode = F.Bundle.SearchEntryMode.Outcome },
            });
        }

        bundle.Link.Add(new F.Bundle.LinkComponent { Relation = "self", Url = Url(request, null) });
        if (next is not null)
            bundle.Link.Add(new F.Bundle.LinkComponent { Relation = "next", Url = Url(request, SearchParameters.EncodeCursor(next)) });
        return bundle;
    }

    /// <summary>The request's URL with its query, the cursor replaced by <paramref name="cursor"/> (or dropped).</summary>
    private static string Url(HttpRequest request, string? cursor)
    {
        var query = request.Query
            .Where(p => p.Key != SearchParameters.CursorParameter)
            .SelectMany(p => p.Value.Select(v => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(v ?? "")}"));
        if (cursor is not null)
            query = query.Append(SearchParameters.CursorParameter + "=" + Uri.EscapeDataString(cursor));
        var text = string.Join('&', query);
        return $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}" + (text.Length > 0 ? "?" + text : "");
    }

    /// <summary>A warning entry for a stored row that could not be served.</summary>
    public static F.OperationOutcome Warning(string diagnostics) => new()
    {
        Issue = [new F.OperationOutcome.IssueComponent { Severity = F.OperationOutcome.IssueSeverity.Warning, Code = F.OperationOutcome.IssueType.Processing, Diagnostics = diagnostics }],
    };
}
