using System.Globalization;
using Dmp.Mapping;
using Dmp.Mapping.Rules;
using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using Microsoft.Net.Http.Headers;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// DocumentReference search (IHE MHD ITI-67 parameters, PDSm shape), read by id, and document retrieval
/// (ITI-68) at `/fhir/Binary/{id}`: the original bytes, the CDA's PDF body, or a FHIR Binary, by Accept.
/// </summary>
public static class DocumentEndpoints
{
    public static readonly string[] SearchParameterNames =
    [
        "patient", "patient.identifier", "status", "type", "category", "date", "period", "author.given", "author.family",
        "facility", "setting", "event", "security-label", "format", "related", "identifier", "creation",
    ];

    /// <summary>LOINC document types $recent-exams lists: lab reports and imaging reports.</summary>
    public static readonly string[] ExamDocumentTypes = ["11502-2", "18748-4"];

    public static void Map(RouteGroupBuilder fhir)
    {
        fhir.MapGet("/DocumentReference", SearchAsync);
        fhir.MapGet("/DocumentReference/{id}", ReadAsync);
        fhir.MapGet("/Binary/{id}", RetrieveAsync);
    }

    private static async Task<IResult> SearchAsync(HttpContext http, DossierGate gate, TimeProvider time, CancellationToken ct)
    {
        var search = SearchParameters.Read(http.Request, SearchParameterNames);
        var filter = ReadFilter(search);
        var page = search.Page();
        var gated = await gate.ForSearchAsync(http, search, AuditActions.Search, AuditEntityTypes.DocumentReference, ct);
        if (gated.Scope is not { } scope)
            return gated.Response!;

        var found = await gate.Queries.SearchDocumentsAsync(filter with { PatientId = scope.PatientId }, scope.Access.Visibility!, page, ct);
        var baseUrl = SearchBundles.BaseUrl(http.Request);
        var resources = found.Items.Select(d => DossierResources.DocumentReference(d, ContentUrl(baseUrl, d.Id))).ToList();
        var bundle = SearchBundles.Searchset(http.Request, time, resources, found.Next);
        return await gate.AuditedAsync(
            scope.Audit(AuditActions.Search, AuditEntityTypes.DocumentReference, null, AuditOutcomes.Success, Returned(http, resources)), FhirResults.Resource(bundle), ct);
    }

    private static async Task<IResult> ReadAsync(string id, HttpContext http, DossierGate gate, DmpStore store, CancellationToken ct)
    {
        var (document, failure) = await FindVisibleAsync(id, "DocumentReference", http, gate, AuditActions.Read, ct);
        if (document is null)
            return failure!;
        var (row, scope) = document.Value;
        await Telemetry.DocumentTraceLinks.LinkAsync(store, row.Id, ct);
        var resource = DossierResources.DocumentReference(row, ContentUrl(SearchBundles.BaseUrl(http.Request), row.Id));
        return await gate.AuditedAsync(scope.Audit(AuditActions.Read, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Success), FhirResults.Resource(resource), ct);
    }

    private static async Task<IResult> RetrieveAsync(string id, HttpContext http, DossierGate gate, DmpStore store, CancellationToken ct)
    {
        // Whatever it serves, a document's bytes are never sniffed nor run as a page of this origin.
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.ContentSecurityPolicy = "sandbox";
        var (document, failure) = await FindVisibleAsync(id, "Binary", http, gate, AuditActions.Retrieve, ct);
        if (document is null)
            return failure!;
        var (row, scope) = document.Value;
        await Telemetry.DocumentTraceLinks.LinkAsync(store, row.Id, ct);
        if (row.BlobKey is not { } key || await store.Blobs.GetAsync(key, ct) is not { } bytes)
        {
            return await gate.AuditedAsync(scope.Audit(AuditActions.Retrieve, AuditEntityTypes.DocumentReference, id, AuditOutcomes.NotFound, "the content is missing from the blob store"),
                FhirResults.NotFound($"the content of DocumentReference/{id} is not available"), ct);
        }

        var mediaType = row.MimeType ?? "application/octet-stream";
        foreach (var wanted in AcceptedInOrder(http.Request))
        {
            IResult? answer = wanted switch
            {
                "application/fhir+json" or "application/json" => FhirResults.Resource(new F.Binary
                {
                    Id = DossierResources.Id(row.Id),
                    ContentType = mediaType,
                    Data = bytes,
                    SecurityContext = new F.ResourceReference("DocumentReference/" + DossierResources.Id(row.Id)),
                }),
                "application/pdf" when mediaType == "application/pdf" => Results.Bytes(bytes, mediaType),
                "application/pdf" => PdfBody(bytes) is { } pdf ? Results.Bytes(pdf, "application/pdf") : null,
                _ when Matches(wanted, mediaType) || IsXml(mediaType) && wanted is "application/xml" or "text/xml" or "application/hl7-cda+xml"
                    => Raw(http, bytes, mediaType),
                _ => null,
            };
            if (answer is not null)
                return await gate.AuditedAsync(scope.Audit(AuditActions.Retrieve, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Success, "as " + wanted), answer, ct);
        }

        return await gate.AuditedAsync(scope.Audit(AuditActions.Retrieve, AuditEntityTypes.DocumentReference, id, AuditOutcomes.NotFound, "no acceptable representation"),
            FhirResults.NotAcceptable($"DocumentReference/{id} is served as {mediaType}, application/fhir+json (a Binary)" +
                                      (PdfBody(bytes) is not null ? " or application/pdf" : "")), ct);
    }

    /// <summary>
    /// The document with this id if the caller may see it, with the scope it was read in; else the one 404 of a read
    /// by id, `{<paramref name="type"/>}/{id} is not found`, whether the document is absent, deleted, in a dossier the
    /// caller may not read or hidden from them (the dossier's audit trail records which, when it exists).
    /// </summary>
    public static async Task<((DocumentRow Row, DossierScope Scope)? Document, IResult? Failure)> FindVisibleAsync(
        string id, string type, HttpContext http, DossierGate gate, string action, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(gate);
        var notVisible = FhirResults.NotFound($"{type}/{id} is not found");
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var documentId))
            return (null, notVisible);
        var any = await gate.Queries.GetDocumentAsync(documentId, null, ct);
        if (any is null)
            return (null, notVisible);
        var gated = await gate.ForPatientAsync(http, any.PatientId, action, AuditEntityTypes.DocumentReference, id, notVisible, ct);
        if (gated.Scope is not { } scope)
            return (null, gated.Response);
        var visible = await gate.Queries.GetDocumentAsync(documentId, scope.Access.Visibility, ct);
        if (visible is null)
        {
            var why = any.Status == DocumentStatuses.Deleted ? "the document was deleted" : "the document is not visible to this caller";
            return (null, await gate.AuditedAsync(scope.Audit(action, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Denied, why), notVisible, ct));
        }

        return ((visible, scope), null);
    }

    /// <summary>The stored bytes as they are; XML and HTML (which a browser would render) only as an attachment.</summary>
    private static IResult Raw(HttpContext http, byte[] bytes, string mediaType)
    {
        if (RendersAsPage(mediaType))
            http.Response.Headers.ContentDisposition = "attachment";
        return Results.Bytes(bytes, mediaType);
    }

    private static bool RendersAsPage(string mediaType)
    {
        var type = MediaTypeHeaderValue.TryParse(mediaType, out var parsed) ? parsed.MediaType.Value ?? "" : mediaType;
        return type.Equals("text/html", StringComparison.OrdinalIgnoreCase) || type.Equals("text/xml", StringComparison.OrdinalIgnoreCase) ||
               type.Equals("application/xml", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+xml", StringComparison.OrdinalIgnoreCase) ||
               type.Equals("image/svg+xml", StringComparison.OrdinalIgnoreCase);
    }

    private static DocumentFilter ReadFilter(SearchParameters search)
    {
        var statuses = new List<string>();
        foreach (var group in search.Strings("status"))
        {
            if (statuses.Count > 0)
                throw new SearchParameterException("status may be given only once (use a comma for alternatives)");
            foreach (var status in group)
            {
                statuses.Add(status switch
                {
                    "current" => DocumentStatuses.Current,
                    "superseded" => DocumentStatuses.Superseded,
                    // Deleted documents are never served: asking for them finds nothing.
                    "entered-in-error" => DocumentStatuses.Deleted,
                    _ => throw new SearchParameterException($"status '{status}' is not one of current, superseded, entered-in-error"),
                });
            }
        }

        var related = search.Strings("related").Select(group => (IReadOnlyList<long>)group.Select(r =>
            long.TryParse(r.StartsWith("DocumentReference/", StringComparison.Ordinal) ? r["DocumentReference/".Length..] : r,
                NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw new SearchParameterException($"related '{r}' is not a DocumentReference id or reference")).ToList()).ToList();

        return new DocumentFilter
        {
            Statuses = statuses.Count > 0 ? statuses : [DocumentStatuses.Current],
            Types = search.Tokens("type"),
            Categories = search.Tokens("category"),
            Formats = search.Tokens("format"),
            Facilities = search.Tokens("facility"),
            Settings = search.Tokens("setting"),
            Events = search.Tokens("event"),
            UniqueIds = search.Strings("identifier").Select(g => (IReadOnlyList<CodeMatch>)g.Select(DossierResources.UniqueIdMatch).ToList()).ToList(),
            SecurityLabels = search.Tokens("security-label").Select(g => (IReadOnlyList<string>)g.Select(t => t.Code).ToList()).ToList(),
            AuthorGiven = search.Strings("author.given"),
            AuthorFamily = search.Strings("author.family"),
            RelatedTo = related,
            Date = search.Dates("date"),
            Creation = search.Dates("creation"),
            Period = search.Dates("period"),
        };
    }

    public static string ContentUrl(string baseUrl, long documentId) => $"{baseUrl}/Binary/{DossierResources.Id(documentId)}";

    /// <summary>What a search returned, for the patient's trail: the query and the ids served.</summary>
    public static string Returned(HttpContext http, IReadOnlyList<F.Resource> resources) =>
        $"{http.Request.Path}{http.Request.QueryString} returned {resources.Count}" +
        (resources.Count > 0 ? ": " + string.Join(", ", resources.Select(r => r.TypeName + "/" + r.Id)) : "");

    /// <summary>The Accept header's media types, most wanted first (none: anything).</summary>
    private static IEnumerable<string> AcceptedInOrder(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept.Count == 0)
            return ["*/*"];
        return accept
            .Select((value, index) => (value, index))
            .Where(a => (a.value.Quality ?? 1) > 0)
            .OrderByDescending(a => a.value.Quality ?? 1).ThenBy(a => a.index)
            .Select(a => a.value.MediaType.Value ?? "")
            .ToList();
    }

    private static bool Matches(string wanted, string mediaType)
    {
        if (wanted == "*/*" || string.Equals(wanted, mediaType, StringComparison.OrdinalIgnoreCase))
            return true;
        return wanted.EndsWith("/*", StringComparison.Ordinal) &&
               mediaType.StartsWith(wanted[..^1], StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsXml(string mediaType) => mediaType is "text/xml" or "application/xml" or "application/hl7-cda+xml";

    /// <summary>The PDF a CDA carries as its nonXMLBody, if it does.</summary>
    public static byte[]? PdfBody(byte[] cda)
    {
        var (mapped, _) = CdaMapper.Read(cda, "api", RuleSet.Empty);
        return mapped?.NonXmlBody is { MediaType: "application/pdf" } body ? body.Content : null;
    }
}
