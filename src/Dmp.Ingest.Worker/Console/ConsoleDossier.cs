using System.Globalization;
using System.Xml.Linq;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Mapping.Cda;
using Dmp.Model;
using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>One document as a list shows it: its type as the API gives it (type display, else description), its date and marks.</summary>
public sealed record DocumentLine(long Id, string Type, DateTimeOffset? Date, bool Masked, bool HiddenFromPatient, string? Author);

/// <summary>A dossier as its reader may see it: who reads it and on what basis, its state, and its documents.</summary>
/// <param name="Older">The cursor of the next page of older documents; null on the last page.</param>
/// <param name="Paged">True when this is not the first page.</param>
public sealed record DossierView(DossierScope Scope, IReadOnlyList<DocumentLine> Documents, string? Older = null, bool Paged = false)
{
    public DossierFacts? Facts => Scope.Dossier;
    public bool Emergency => Scope.Access.Basis == AccessBasis.Emergency;
}

/// <summary>A document opened in the viewer: the CDA header, the sanitised narratives, and whether a PDF is embedded.</summary>
public sealed record DocumentView(
    DocumentLine Line, long PatientId, bool MayExerciseRights, string? Title, string? Author, string? Organisation, DateTimeOffset? Date,
    string? LegalAuthenticator, IReadOnlyList<NarrativeSection> Sections, string? PlainText, bool HasPdf, bool Emergency);

/// <summary>One section of a structured body: its title and its narrative as safe HTML.</summary>
public sealed record NarrativeSection(string? Title, string Html);

/// <summary>One page of the patient's access trail and whether their dossier's hash chain verifies.</summary>
public sealed record TrailView(IReadOnlyList<AuditEventRow> Events, long? Next, bool ChainIntact, string? ChainBreak);

/// <summary>A result of the "recent exams" check.</summary>
public sealed record ExamLine(string Kind, string? Code, string? Display, DateTimeOffset? Date);

/// <summary>
/// The console's dossier pages for patients and professionals. Nothing here decides access: every read and every change
/// goes through <see cref="DossierGate"/> (and so <see cref="AccessPolicy"/>), the API's shared methods
/// (<see cref="DocumentEndpoints.FindVisibleAsync"/>, <see cref="PatientRightsEndpoints"/>' changes, the trail and the
/// recent exams of <see cref="FhirEndpoints"/>) and the same audit records as the FHIR endpoints; the console's User is
/// the session's principal, with a token's claims. An emergency reason comes from the console's form, never from a header.
/// </summary>
public sealed class ConsoleDossier(DossierGate gate, DmpStore store, DossierRights rights, TimeProvider time)
{
    /// <summary>Documents one page of the dossier lists (the newest first).</summary>
    public const int DocumentPage = 100;
    /// <summary>Events one page of the trail shows.</summary>
    public const int TrailPage = 25;

    private static readonly XNamespace V3 = "urn:hl7-org:v3";

    /// <summary>
    /// The signed-in patient's own dossier with a page of its documents, newest first, from <paramref name="before"/> (a cursor
    /// of <see cref="DossierView.Older"/>; null: the newest) — audited as the API's document search.
    /// </summary>
    public async Task<DossierView?> OwnDossierAsync(HttpContext http, string? before, CancellationToken ct)
    {
        var scope = await OwnScopeAsync(http, AuditActions.Search, AuditEntityTypes.DocumentReference, ct);
        return scope is null ? null : await DocumentsAsync(http, scope, before, ct);
    }

    /// <summary>
    /// A professional's look at a patient's dossier, as the rules allow; <paramref name="emergencyReason"/> invokes emergency
    /// access. Null and the policy's reason when refused (the gate audited the refusal).
    /// </summary>
    public async Task<(DossierView? View, string? Denial)> ProfessionalDossierAsync(HttpContext http, long patientId, string? emergencyReason, string? before, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Items[FhirCaller.BreakGlassItem] = emergencyReason ?? "";
        var gated = await gate.ForPatientAsync(http, patientId, AuditActions.Search, AuditEntityTypes.DocumentReference, null, Results.Empty, ct);
        if (gated.Scope is not { } scope)
            return (null, gated.Denial);
        return (await DocumentsAsync(http, scope, before, ct), null);
    }

    /// <summary>
    /// A professional's existence check by INS, audited as the API's Patient search: the patient's id when a dossier
    /// answers (<paramref name="allowed"/> whether they may read it, else the policy's reason), null when none.
    /// </summary>
    public async Task<(long? PatientId, bool Allowed, string? Denial)> FindByInsAsync(HttpContext http, string ins, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        NoEmergency(http);
        PatientRecord? addressed;
        try
        {
            addressed = await gate.FindByIdentifierAsync(ins, "ins", ct);
        }
        catch (SearchParameterException)
        {
            return (null, false, null);
        }
        if (addressed is null)
        {
            await gate.NoPatientAsync(http, AuditActions.Search, AuditEntityTypes.Patient, "identifier=" + ins, Results.Empty, ct);
            return (null, false, null);
        }
        var gated = await gate.EvaluateAsync(http, addressed, AuditActions.Search, AuditEntityTypes.Patient, null, null, ct);
        if (gated.Scope is not { } scope)
            return (addressed.Id, false, gated.Denial);
        await gate.AuditAsync(scope.Audit(AuditActions.Search, AuditEntityTypes.Patient, null, AuditOutcomes.Success,
            "console: existence check returned Patient/" + DossierResources.Id(scope.PatientId)), ct);
        return (scope.PatientId, true, null);
    }

    /// <summary>The "recent exams" check for a code over the last days, audited as the API's $recent-exams.</summary>
    public async Task<IReadOnlyList<ExamLine>?> RecentExamsAsync(HttpContext http, long patientId, string code, int days, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        NoEmergency(http);
        var id = DossierResources.Id(patientId);
        var gated = await gate.ForPatientAsync(http, patientId, AuditActions.Search, AuditEntityTypes.Patient, id + "/$recent-exams", Results.Empty, ct);
        if (gated.Scope is not { } scope)
            return null;
        var codes = code.Length == 0 ? [] : new List<IReadOnlyList<CodeMatch>> { new List<CodeMatch> { new(code) } };
        var (entries, documents) = await FhirEndpoints.FindRecentExamsAsync(scope, gate, codes, days, DocumentPage, time, ct);
        var lines = new List<ExamLine>();
        var served = new List<string>();
        foreach (var e in entries.Items)
        {
            var resource = DossierResources.Entry(e);
            var display = (resource as Hl7.Fhir.Model.Observation)?.Code?.Coding.FirstOrDefault()?.Display ?? (resource as Hl7.Fhir.Model.DiagnosticReport)?.Code?.Text;
            lines.Add(new ExamLine(e.Kind, e.Code, display, SearchParameters.StoredInstant(e.EffectiveAt ?? e.SortKey)));
            served.Add(e.Kind + "/" + e.PublicId);
        }
        foreach (var d in documents.Items)
        {
            var line = Line(d);
            lines.Add(new ExamLine("DocumentReference", d.TypeCode, line.Type, line.Date));
            served.Add("DocumentReference/" + DossierResources.Id(d.Id));
        }
        await gate.AuditAsync(scope.Audit(AuditActions.Search, AuditEntityTypes.Patient, id + "/$recent-exams", AuditOutcomes.Success,
            $"console: code={code}&days={days} returned {served.Count}" + (served.Count > 0 ? ": " + string.Join(", ", served) : "")), ct);
        return lines;
    }

    /// <summary>
    /// A document in the viewer, found as the API's read by id finds it (absent and not visible alike: null), audited as a
    /// read; <paramref name="emergencyReason"/> (a professional's, from the emergency list's form) reads it under emergency access.
    /// </summary>
    public async Task<DocumentView?> DocumentAsync(HttpContext http, long documentId, string? emergencyReason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        EmergencyOrNone(http, emergencyReason);
        var id = DossierResources.Id(documentId);
        var (found, _) = await DocumentEndpoints.FindVisibleAsync(id, "DocumentReference", http, gate, AuditActions.Read, ct);
        if (found is not { } document)
            return null;
        var (row, scope) = document;
        var bytes = row.BlobKey is { } key ? await store.Blobs.GetAsync(key, ct) : null;
        await gate.AuditAsync(scope.Audit(AuditActions.Read, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Success, "console: document viewer"), ct);
        return Read(row, scope, bytes);
    }

    /// <summary>
    /// The PDF a document is or carries, found and audited as the API's retrieval (`Binary`) is; null when the caller may not
    /// see it or it holds no PDF. <paramref name="emergencyReason"/> as for <see cref="DocumentAsync"/>.
    /// </summary>
    public async Task<byte[]?> PdfAsync(HttpContext http, long documentId, string? emergencyReason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        EmergencyOrNone(http, emergencyReason);
        var id = DossierResources.Id(documentId);
        var (found, _) = await DocumentEndpoints.FindVisibleAsync(id, "Binary", http, gate, AuditActions.Retrieve, ct);
        if (found is not { } document)
            return null;
        var (row, scope) = document;
        var bytes = row.BlobKey is { } key ? await store.Blobs.GetAsync(key, ct) : null;
        var pdf = bytes is null ? null : row.MimeType == "application/pdf" ? bytes : DocumentEndpoints.PdfBody(bytes);
        await gate.AuditAsync(scope.Audit(AuditActions.Retrieve, AuditEntityTypes.DocumentReference, id,
            pdf is null ? AuditOutcomes.NotFound : AuditOutcomes.Success, pdf is null ? "console: no PDF in this document" : "as application/pdf (console)"), ct);
        return pdf;
    }

    /// <summary>One page of the patient's own trail (before event <paramref name="before"/>), through the API's trail reading.</summary>
    public async Task<TrailView?> TrailAsync(HttpContext http, long? before, CancellationToken ct)
    {
        var scope = await OwnScopeAsync(http, AuditActions.Search, AuditEntityTypes.AuditEvent, ct);
        if (scope is null)
            return null;
        var page = new PageRequest(TrailPage, false, before is { } b ? new PageKey("", b) : null);
        var (rows, next, refusal) = await FhirEndpoints.ReadTrailAsync(scope, gate, store, page, ct);
        if (refusal is not null)
            return null;
        var broken = (await store.Audit.VerifyPatientAsync(scope.PatientId, ct)).Breaks.FirstOrDefault();
        return new TrailView(rows, next?.Id, broken is null, broken?.Reason);
    }

    /// <summary>The patient's change to one document (mask, unmask, delete): "done", "refused" or "not-found".</summary>
    public async Task<string> DocumentActionAsync(HttpContext http, long documentId, string action, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        NoEmergency(http);
        var id = DossierResources.Id(documentId);
        var (found, _) = await DocumentEndpoints.FindVisibleAsync(id, "DocumentReference", http, gate, action, ct);
        if (found is not { } document)
            return "not-found";
        var scope = document.Scope;
        if (PatientRightsEndpoints.DocumentRightRefusal(scope, action) is { } who)
        {
            await gate.AuditAsync(scope.Audit(action, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Denied, who), ct);
            return "refused";
        }
        return await PatientRightsEndpoints.ApplyDocumentChangeAsync(scope, documentId, id, action, gate, rights, ct) ? "done" : "not-found";
    }

    /// <summary>The patient's change to their dossier (close, reopen, authorise, revoke, emergency opposition): "done", "refused", "invalid" or "not-found".</summary>
    public async Task<string> DossierActionAsync(HttpContext http, string action, string? rppsText, bool treating, CancellationToken ct)
    {
        var scope = await OwnScopeAsync(http, action, AuditEntityTypes.Patient, ct);
        if (scope is null)
            return "not-found";
        var id = DossierResources.Id(scope.PatientId);
        if (!scope.Access.MayExerciseRights)
        {
            await gate.AuditAsync(scope.Audit(action, AuditEntityTypes.Patient, id, AuditOutcomes.Denied, "only the patient exercises this right"), ct);
            return "refused";
        }
        string? rpps = null;
        if (action is AuditActions.Authorize or AuditActions.Revoke)
        {
            if (!Rpps.TryParse(rppsText?.Trim(), out var parsed))
            {
                await gate.AuditAsync(scope.Audit(action, AuditEntityTypes.Patient, id, AuditOutcomes.Invalid, "rpps must be the professional's 11-digit RPPS number"), ct);
                return "invalid";
            }
            rpps = parsed.Number;
        }
        return await PatientRightsEndpoints.ApplyDossierChangeAsync(scope, action, rpps, treating, gate, rights, ct) ? "done" : "not-found";
    }

    /// <summary>
    /// The signed-in patient's dossier through the gate (found by the INS of their session, as a search by
    /// patient.identifier finds it), or null when there is none or they may not read it (the gate audited a refusal).
    /// </summary>
    private async Task<DossierScope?> OwnScopeAsync(HttpContext http, string action, string entityType, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        NoEmergency(http);
        var caller = FhirCaller.From(http);
        if (!caller.IsPatient)
            return null;
        var addressed = await gate.FindByIdentifierAsync(caller.Ins!, "ins", ct);
        if (addressed is null)
            return null;
        var gated = await gate.EvaluateAsync(http, addressed, action, entityType, null, null, ct);
        return gated.Scope;
    }

    private async Task<DossierView> DocumentsAsync(HttpContext http, DossierScope scope, string? before, CancellationToken ct)
    {
        // The API's own cursor (sort key and id of the last row shown); one that does not read as one shows the newest page.
        var after = SearchParameters.CursorOrNull(before);
        var found = await gate.Queries.SearchDocumentsAsync(new DocumentFilter { PatientId = scope.PatientId }, scope.Access.Visibility!, new PageRequest(DocumentPage, false, after), ct);
        var lines = found.Items.Select(Line).ToList();
        await gate.AuditAsync(scope.Audit(AuditActions.Search, AuditEntityTypes.DocumentReference, null, AuditOutcomes.Success,
            $"console {http.Request.Path} returned {lines.Count}" + (lines.Count > 0 ? ": " + string.Join(", ", lines.Select(l => "DocumentReference/" + DossierResources.Id(l.Id))) : "")), ct);
        return new DossierView(scope, lines, found.Next is { } next ? SearchParameters.EncodeCursor(next) : null, after is not null);
    }

    /// <summary>A console request never invokes emergency access unless its form said so.</summary>
    private static void NoEmergency(HttpContext http) => http.Items.TryAdd(FhirCaller.BreakGlassItem, "");

    /// <summary>Emergency access with the reason a professional's form gave; for anyone else, or without a reason, none.</summary>
    private static void EmergencyOrNone(HttpContext http, string? reason)
    {
        if (reason is { Length: > 0 } && http.User.HasClaim(DmpClaims.Role, DmpClaims.Professional))
            http.Items[FhirCaller.BreakGlassItem] = reason;
        else
            NoEmergency(http);
    }

    /// <summary>The row as the API's DocumentReference gives it: the type's display (else its text, else the description), the date.</summary>
    public static DocumentLine Line(DocumentRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var reference = DossierResources.DocumentReference(row, "");
        var type = reference.Type?.Coding.FirstOrDefault(c => !string.IsNullOrEmpty(c.Display))?.Display ?? reference.Type?.Text ?? reference.Description ?? row.TypeCode ?? "—";
        var author = string.Join(' ', new[] { row.AuthorGiven, row.AuthorFamily }.Where(s => !string.IsNullOrEmpty(s)));
        return new DocumentLine(row.Id, type, reference.Date, row.Masked, row.HiddenFromPatient, author.Length == 0 ? null : author);
    }

    private static DocumentView Read(DocumentRow row, DossierScope scope, byte[]? bytes)
    {
        var line = Line(row);
        var sections = new List<NarrativeSection>();
        string? plain = null;
        var hasPdf = false;
        CdaHeader? header = null;
        if (bytes is not null && row.MimeType == "application/pdf")
        {
            hasPdf = true;
        }
        else if (bytes is not null && SafeXml.TryLoad(bytes, out var xml, out _) && xml!.Root is { } root)
        {
            CdaHeaderReader.TryRead(xml, out header, out _);
            foreach (var section in root.Descendants(V3 + "section"))
                sections.Add(new NarrativeSection(section.Element(V3 + "title")?.Value, NarrativeSanitizer.ToHtml(section.Element(V3 + "text"))));
            if (root.Descendants(V3 + "nonXMLBody").Elements(V3 + "text").FirstOrDefault() is { } text)
            {
                if (text.Attribute("mediaType")?.Value == "application/pdf")
                    hasPdf = true;
                else if (text.Attribute("representation")?.Value != "B64")
                    plain = text.Value.Trim();
            }
        }

        static string? Name(Practitioner? p) =>
            p is null ? null : string.Join(' ', new[] { p.Given, p.Family }.Where(s => !string.IsNullOrEmpty(s))) is { Length: > 0 } n ? n : p.Id?.Value;
        static DateTimeOffset? At(PartialDateTime? t) =>
            t is null ? null : new DateTimeOffset(DateTime.SpecifyKind(t.Value, DateTimeKind.Unspecified), t.Offset ?? TimeSpan.Zero);
        var legal = Name(header?.LegalAuthenticator);
        if (legal is not null && header?.LegalAuthenticatedAt is { } signed)
            legal += " — " + Time(At(signed));
        return new DocumentView(line, scope.PatientId, scope.Access.MayExerciseRights, header?.Title ?? row.Title,
            Name(header?.Author) ?? line.Author, header?.AuthorOrganisationName ?? row.Facility, At(header?.EffectiveTime) ?? line.Date,
            legal, sections, plain, hasPdf, scope.Access.Basis == AccessBasis.Emergency);
    }

    /// <summary>
    /// Answers 404 with the page still rendered. A page that sets 404 while it renders gets an empty body from the static
    /// renderer (it takes the status for its own "not found" handling), so the status is set as the response starts.
    /// </summary>
    public static void AnswerNotFound(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.OnStarting(() =>
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
    }

    /// <summary>A time as the console writes every time: UTC, to the minute.</summary>
    public static string Time(DateTimeOffset? at) =>
        at is { } a ? a.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "—";
}
