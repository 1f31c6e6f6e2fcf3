using System.Globalization;
using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// The dossier API under `/fhir`: metadata (anonymous), Patient, DocumentReference and Binary, the clinical
/// entries, the patient's AuditEvent trail, $recent-exams and the patient's rights. Every dossier access goes
/// through <see cref="DossierGate"/> (and so <see cref="AccessPolicy"/>) and is audited before the response leaves.
/// </summary>
public static class FhirEndpoints
{
    private static readonly string[] EntrySearchParameters = ["patient", "patient.identifier", "code", "date"];
    private static readonly string[] AuditSearchParameters = ["patient", "patient.identifier"];
    private static readonly string[] PatientSearchParameters = ["identifier"];
    private static readonly string[] RecentExamParameters = ["code", "days"];

    public static void MapDossierApi(this WebApplication app)
    {
        var fhir = app.MapGroup("/fhir");
        fhir.AddEndpointFilter(async (context, next) =>
        {
            var request = context.HttpContext.Request;
            if (!request.Path.StartsWithSegments("/fhir/Binary") && FhirResults.RefuseUnservedFormat(request) is { } refused)
                return refused;
            try
            {
                return await next(context);
            }
            catch (SearchParameterException e)
            {
                return FhirResults.BadRequest(e.Message);
            }
        });
        fhir.AddEndpointFilter(RequestBodies.Filter(FhirResults.BodyRefused));

        fhir.MapGet("/metadata", (HttpContext http) => FhirResults.Resource(CapabilityStatementFactory.Create(SearchBundles.BaseUrl(http.Request))))
            .AllowAnonymous();
        fhir.MapGet("/Patient", SearchPatientsAsync);
        fhir.MapGet("/Patient/{id}", ReadPatientAsync);
        fhir.MapGet("/Patient/{id}/{operation}", PatientQueryOperationAsync);
        fhir.MapGet("/AuditEvent", SearchAuditAsync);
        DocumentEndpoints.Map(fhir);
        PatientRightsEndpoints.Map(fhir);
        foreach (var kind in DossierResources.EntryKinds)
            fhir.MapGet("/" + kind, (HttpContext http, DossierGate gate, TimeProvider time, CancellationToken ct) =>
                SearchEntriesAsync(kind, http, gate, time, ct));
        EntryEndpoints.Map(fhir);

        // Anything else under /fhir is an unknown resource or interaction, said as FHIR.
        fhir.Map("/{**rest}", (string rest) => FhirResults.NotFound($"/fhir/{rest} is not supported by this server (see /fhir/metadata)"));
    }

    private static async Task<IResult> SearchPatientsAsync(HttpContext http, DossierGate gate, TimeProvider time, CancellationToken ct)
    {
        var search = SearchParameters.Read(http.Request, PatientSearchParameters);
        var identifier = search.Single("identifier") ?? throw new SearchParameterException("identifier is required (the patient's INS: urn:oid:<INS OID>|<INS>)");
        var addressed = await gate.FindByIdentifierAsync(identifier, "identifier", ct);
        if (addressed is null)
            return await gate.NoPatientAsync(http, AuditActions.Search, AuditEntityTypes.Patient, "identifier=" + identifier,
                FhirResults.Resource(SearchBundles.Searchset(http.Request, time, [], null)), ct);
        var gated = await gate.EvaluateAsync(http, addressed, AuditActions.Search, AuditEntityTypes.Patient, null, null, ct);
        if (gated.Scope is not { } scope)
            return gated.Response!;
        var resources = new List<F.Resource> { DossierResources.Patient(scope.Patient) };
        return await gate.AuditedAsync(scope.Audit(AuditActions.Search, AuditEntityTypes.Patient, null, AuditOutcomes.Success, DocumentEndpoints.Returned(http, resources)),
            FhirResults.Resource(SearchBundles.Searchset(http.Request, time, resources, null)), ct);
    }

    private static async Task<IResult> ReadPatientAsync(string id, HttpContext http, DossierGate gate, CancellationToken ct)
    {
        var notVisible = FhirResults.NotFound($"Patient/{id} is not found");
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var patientId))
            return notVisible;
        var gated = await gate.ForPatientAsync(http, patientId, AuditActions.Read, AuditEntityTypes.Patient, id, notVisible, ct);
        if (gated.Scope is not { } scope)
            return gated.Response!;
        return await gate.AuditedAsync(scope.Audit(AuditActions.Read, AuditEntityTypes.Patient, id, AuditOutcomes.Success), FhirResults.Resource(DossierResources.Patient(scope.Patient)), ct);
    }

    private static async Task<IResult> SearchEntriesAsync(string kind, HttpContext http, DossierGate gate, TimeProvider time, CancellationToken ct)
    {
        var search = SearchParameters.Read(http.Request, EntrySearchParameters);
        var filter = new EntryFilter { Kinds = [kind], Codes = search.Tokens("code"), Date = search.Dates("date") };
        var page = search.Page();
        var gated = await gate.ForSearchAsync(http, search, AuditActions.Search, kind, ct);
        if (gated.Scope is not { } scope)
            return gated.Response!;
        var found = await gate.Queries.SearchEntriesAsync(filter with { PatientId = scope.PatientId }, scope.Access.Visibility!, page, ct);
        var (resources, warnings) = Entries(found.Items);
        return await gate.AuditedAsync(scope.Audit(AuditActions.Search, kind, null, AuditOutcomes.Success, DocumentEndpoints.Returned(http, resources)),
            FhirResults.Resource(SearchBundles.Searchset(http.Request, time, resources, found.Next, warnings)), ct);
    }

    private static async Task<IResult> SearchAuditAsync(HttpContext http, DossierGate gate, DmpStore store, TimeProvider time, CancellationToken ct)
    {
        var search = SearchParameters.Read(http.Request, AuditSearchParameters);
        var page = search.Page();
        if (page.Ascending)
            throw new SearchParameterException("the audit trail is served newest first only (_sort=-date)");
        var gated = await gate.ForSearchAsync(http, search, AuditActions.Search, AuditEntityTypes.AuditEvent, ct);
        if (gated.Scope is not { } scope)
            return gated.Response!;
        var (served, next, refusal) = await ReadTrailAsync(scope, gate, store, page, ct);
        if (refusal is not null)
            return FhirResults.Forbidden(refusal);
        var resources = served.Select(r => (F.Resource)DossierResources.AuditEvent(r)).ToList();
        return FhirResults.Resource(SearchBundles.Searchset(http.Request, time, resources, next));
    }

    /// <summary>
    /// One page of a dossier's audit trail, newest first, for its patient only; the reading is itself audited (a refusal
    /// too) before it returns. Null rows and the refusal's text when the caller is not the patient. The API and the console call it.
    /// </summary>
    public static async Task<(IReadOnlyList<AuditEventRow> Rows, PageKey? Next, string? Refusal)> ReadTrailAsync(
        DossierScope scope, DossierGate gate, DmpStore store, PageRequest page, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(page);
        if (scope.Access.Basis != AccessBasis.Owner)
        {
            await gate.AuditAsync(scope.Audit(AuditActions.Search, AuditEntityTypes.AuditEvent, null, AuditOutcomes.Denied, "only the patient reads their audit trail"), ct);
            return ([], null, "only the patient reads their dossier's audit trail");
        }

        var rows = await store.Audit.ListAsync(scope.PatientId, page.Limit + 1, page.After?.Id, ct);
        PageKey? next = null;
        var served = rows.Take(page.Limit).ToList();
        if (rows.Count > page.Limit)
            next = new PageKey("", served[^1].Id);
        await gate.AuditAsync(scope.Audit(AuditActions.Search, AuditEntityTypes.AuditEvent, null, AuditOutcomes.Success, $"returned {served.Count} events"), ct);
        return (served, next, null);
    }

    private static async Task<IResult> PatientQueryOperationAsync(
        string id, string operation, HttpContext http, DossierGate gate, TimeProvider time, CancellationToken ct)
    {
        if (operation != "$recent-exams")
            return FhirResults.NotFound($"GET Patient/{id}/{operation} is not supported (GET $recent-exams; POST the patient's rights)");
        var search = SearchParameters.Read(http.Request, RecentExamParameters);
        var daysText = search.Single("days") ?? throw new SearchParameterException("days is required: how many days back to look (1 to 3650)");
        if (!int.TryParse(daysText, NumberStyles.None, CultureInfo.InvariantCulture, out var days) || days is < 1 or > 3650)
            throw new SearchParameterException("days must be a whole number from 1 to 3650");
        var codes = search.Tokens("code");
        var count = search.Count();
        var notVisible = FhirResults.NotFound($"Patient/{id} is not found");
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var patientId))
            return notVisible;
        var gated = await gate.ForPatientAsync(http, patientId, AuditActions.Search, AuditEntityTypes.Patient, id + "/$recent-exams", notVisible, ct);
        if (gated.Scope is not { } scope)
            return gated.Response!;

        var (entries, documents) = await FindRecentExamsAsync(scope, gate, codes, days, count, time, ct);
        var (resources, warnings) = Entries(entries.Items);
        var baseUrl = SearchBundles.BaseUrl(http.Request);
        resources.AddRange(documents.Items.Select(d => DossierResources.DocumentReference(d, DocumentEndpoints.ContentUrl(baseUrl, d.Id))));
        return await gate.AuditedAsync(scope.Audit(AuditActions.Search, AuditEntityTypes.Patient, id + "/$recent-exams", AuditOutcomes.Success, DocumentEndpoints.Returned(http, resources)),
            FhirResults.Resource(SearchBundles.Searchset(http.Request, time, resources, null, warnings)), ct);
    }

    /// <summary>
    /// The "recent exams" check: results (Observation, DiagnosticReport) of these codes and lab or imaging reports of the
    /// last <paramref name="days"/> days, as the caller may see them in <paramref name="scope"/>. Not audited here: the
    /// caller audits what it served. The API and the console call it.
    /// </summary>
    public static async Task<(Page<EntryRow> Entries, Page<DocumentRow> Documents)> FindRecentExamsAsync(
        DossierScope scope, DossierGate gate, IReadOnlyList<IReadOnlyList<CodeMatch>> codes, int days, int count, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(time);
        var since = new[] { new TimeBound(TimeComparison.NotBefore, time.GetUtcNow().AddDays(-days)) };
        var visibility = scope.Access.Visibility!;
        var entries = await gate.Queries.SearchEntriesAsync(
            new EntryFilter { PatientId = scope.PatientId, Kinds = ["Observation", "DiagnosticReport"], Codes = codes, Date = since },
            visibility, new PageRequest(count), ct);
        var documents = await gate.Queries.SearchDocumentsAsync(
            new DocumentFilter
            {
                PatientId = scope.PatientId,
                Types = [DocumentEndpoints.ExamDocumentTypes.Select(t => new CodeMatch(t)).ToList()],
                Date = since,
            },
            visibility, new PageRequest(count), ct);
        return (entries, documents);
    }

    private static (List<F.Resource> Resources, List<F.Resource> Warnings) Entries(IEnumerable<EntryRow> rows)
    {
        var resources = new List<F.Resource>();
        var warnings = new List<F.Resource>();
        foreach (var row in rows)
        {
            if (DossierResources.Entry(row) is { } resource)
                resources.Add(resource);
            else
                warnings.Add(SearchBundles.Warning($"{row.Kind}/{DossierResources.EntryId(row)} is stored in a form this server cannot read: left out"));
        }

        return (resources, warnings);
    }
}
