using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// Seeds a running gateway for the dossier API tests. Patients, their dossier, the choices an organisation's ADT
/// recorded and merges go through the real ingest path: PAM France ADT messages over MLLP, applied by the gateway's
/// own pipeline (the seed waits until each message is processed). The patient's own choices (closing the dossier,
/// authorising a professional, naming the treating physician) go through the patient's FHIR operations, as a patient
/// makes them. Documents are CI-SIS MDM messages (a CDA in HL7 v2), results ORU^R01, allergies ADT^A60, all applied by
/// the pipeline; a result tied to a document arrives in that document's CDA body. A document stored in the past is fed
/// while the gateway's <see cref="TestClock"/> is set back. SQL only reads back what the apply stored, and sets after it
/// the few document attributes no message carries (see <see cref="DocumentAsync"/>).
/// </summary>
internal sealed class DossierSeed(TestGateway gateway)
{
    public const string InsOid = "1.2.250.1.213.1.4.8";
    /// <summary>MSH-3|MSH-4 of the seed's identity feed; its ZFA collects no facility choice (ZFA-9 and ZFA-11 NA).</summary>
    private const string FeedApplication = "SEED-GAM";
    private const string FeedFacility = "SEED-ETAB";
    private static int _nextIns;
    private static int _nextMessage;
    private readonly ConcurrentDictionary<long, SeededPatient> _patients = new();
    /// <summary>The unique id (root^extension) of every seeded document, for a replacement to name its parent.</summary>
    private readonly ConcurrentDictionary<long, string> _documentIds = new();

    private DmpStore Store => gateway.Services.GetRequiredService<DmpStore>();

    /// <summary>A fresh 15-character INS, different in every call of the test run.</summary>
    public static string NewIns() => "1" + Interlocked.Increment(ref _nextIns).ToString("D14", CultureInfo.InvariantCulture);

    public static string PatientToken(string ins) => Token(DmpClaims.Patient, ins: ins);
    public static string ProfessionalToken(string rpps, string? org = null) => Token(DmpClaims.Professional, rpps: rpps, org: org);
    public static string OperatorToken() => Token(DmpClaims.Operator);

    public static string Token(string role, string? ins = null, string? rpps = null, string? org = null) =>
        TokenIssuer.Issue(Encoding.UTF8.GetBytes(TestGateway.SigningKey), "dmp-ingest", role, ins, rpps, org, TimeSpan.FromHours(1));

    /// <summary>An HTTP client of the gateway holding this token (and an emergency reason when given).</summary>
    public HttpClient Client(string token, string? breakGlassReason = null) => gateway.Client(token, breakGlassReason);

    /// <summary>
    /// A patient with a validated INS, fed as an ADT^A28 (which opens their dossier: opt-out since 2022; ZFA-6 = Y when
    /// <paramref name="opposesEmergency"/>). <paramref name="treatingRpps"/> and a closed <paramref name="status"/> are the
    /// patient's own choices, made through their FHIR operations. <paramref name="mergedInto"/>: an ADT^A40 then merges
    /// this patient into that one; only such a patient may be seeded <paramref name="withDossier"/> false, because the
    /// feed cannot create a patient without a dossier (refusing one is not something an ADT says).
    /// </summary>
    public async Task<long> PatientAsync(
        string ins, string family = "DUPONT", string given = "JEAN", bool withDossier = true, string status = "open",
        bool opposesEmergency = false, string? treatingRpps = null, long? mergedInto = null)
    {
        if (!withDossier && mergedInto is null)
            throw new NotSupportedException("the ADT feed opens a dossier for every patient: only a patient merged into another may be seeded without one");
        if (status is not ("open" or "closed"))
            throw new ArgumentOutOfRangeException(nameof(status), status, "a dossier is open or closed");

        var patient = new SeededPatient(ins, family, given);
        await FeedAsync("A28", FeedFacility, patient, Zfa(opposesEmergency: opposesEmergency));
        var id = await Store.PatientLinks.FindPatientAsync(InsOid, ins, CancellationToken.None)
            ?? throw new InvalidOperationException($"the ADT for INS {ins} was processed but no patient has it");
        _patients[id] = patient;

        if (mergedInto is { } survivor)
            await FeedAsync("A40", FeedFacility, _patients[survivor], zfa: null, mergedIns: ins);
        if (treatingRpps is not null)
            await PatientOperationAsync(id, "$authorize", $$"""{"resourceType":"Parameters","parameter":[{"name":"rpps","valueString":"{{treatingRpps}}"},{"name":"treating","valueBoolean":true}]}""");
        if (status == "closed")
            await PatientOperationAsync(id, "$close");
        return id;
    }

    /// <summary>The patient authorises a professional (their `$authorize` operation).</summary>
    public Task AuthorizeAsync(long patientId, string rpps) =>
        PatientOperationAsync(patientId, "$authorize", $$"""{"resourceType":"Parameters","parameter":[{"name":"rpps","valueString":"{{rpps}}"}]}""");

    /// <summary>
    /// The choices an organisation's ADT recorded (ZFA-9 / ZFA-11): an ADT^A31 from that organisation (MSH-4, text
    /// like `CHU-X`) for the patient.
    /// </summary>
    public Task FacilityChoiceAsync(long patientId, string organisation, bool consentsConsultation, bool opposesFeeding = false) =>
        FeedAsync("A31", organisation, _patients[patientId], Zfa(feeding: opposesFeeding ? "IO" : "INO", consultation: consentsConsultation ? "IC" : "INC"));

    /// <summary>
    /// A document fed as a CI-SIS MDM over MLLP and applied by the gateway (blob, versions, visibility, the `deposit`
    /// audit event); returns its id. The OBX carries <see cref="Doc.Body"/> as is, else a CDA the seed writes from the
    /// record's fields (id, type, title, creation, service period, author and organisation, confidentiality, parent);
    /// the PRT names the author, the MetaDMPMSS rows the visibility. A replacement (<see cref="Doc.ReplacesId"/>) is
    /// an MDM^T10 naming its parent, which the apply supersedes; a deleted document is an MDM^T02 then an MDM^T04.
    /// A document <see cref="Doc.StoredAt"/> a past time is fed and applied with the gateway's clock set back to it.
    /// What no message says is set with SQL after the apply, and only when a test asks for it (see <see cref="AfterApplyAsync"/>).
    /// </summary>
    public async Task<long> DocumentAsync(long patientId, Doc? doc = null)
    {
        doc ??= new Doc();
        if (doc.FormatCode is not (null or XdsSdPdf))
            throw new ArgumentOutOfRangeException(nameof(doc), doc.FormatCode, "the seed writes XDS-SD PDF documents only");
        if (doc.Status is not ("current" or "deleted"))
            throw new ArgumentOutOfRangeException(nameof(doc), doc.Status, "a document is fed current (a later replacement supersedes it) or deleted");
        var uniqueId = doc.UniqueId ?? "1.2.250.1.999.1^" + Guid.NewGuid().ToString("N")[..12];
        var parent = doc.ReplacesId is { } replaced ? _documentIds[replaced] : null;
        var body = doc.Body ?? Encoding.UTF8.GetBytes(Cda(_patients[patientId], doc, uniqueId, parent));
        System.Text.Json.JsonElement fed;
        var clock = StoredAtClock(doc.StoredAt);
        try
        {
            fed = await FeedDocumentAsync(parent is null ? "T02" : "T10", _patients[patientId], doc, uniqueId, parent, body);
            if (doc.Status == "deleted")
                await FeedDocumentAsync("T04", _patients[patientId], doc, uniqueId, parent, body);
        }
        finally
        {
            // Back to now before anything else is fed or read: only this document's apply happened in the past.
            if (clock is not null)
                clock.Offset = TimeSpan.Zero;
        }

        // A body of its own keeps its CDA id (the mapping keeps it over TXA-12): the row is found by content.
        var sha = Convert.ToHexStringLower(SHA256.HashData(body));
        long id = 0;
        await WriteAsync(async (c, t) => id = await c.ExecuteScalarAsync<long>(
            "SELECT id FROM document WHERE patient_id = @PatientId AND sha256 = @Sha ORDER BY id DESC LIMIT 1;", new { PatientId = patientId, Sha = sha }, t));
        Assert.True(id > 0, $"the MDM for document {uniqueId} was processed but patient {patientId} has no such document: {fed}");
        _documentIds[id] = await DocumentUniqueIdAsync(id);
        await AfterApplyAsync(id, doc);
        return id;
    }

    /// <summary>
    /// The gateway's clock set back to <paramref name="storedAt"/> (the store stamps the apply with the host's
    /// TimeProvider), or null when the document is stored now. The caller sets it back to now.
    /// </summary>
    private TestClock? StoredAtClock(DateTimeOffset? storedAt)
    {
        if (storedAt is not { } at)
            return null;
        var clock = gateway.Services.GetRequiredService<TimeProvider>() as TestClock
            ?? throw new InvalidOperationException("a document stored in the past needs a gateway started with a TestClock as its TimeProvider");
        clock.Offset = at - DateTimeOffset.UtcNow;
        return clock;
    }

    /// <summary>
    /// What no message can say, set with SQL after the real apply and only when the test asks: a class code other than
    /// the CDA rule's table gives (CI-SIS messages and CDA headers carry none); the format of a body of the test's own
    /// that is no XDS-SD (only an XDS-SD CDA states its format, which the seed's own CDA does when asked).
    /// </summary>
    private Task AfterApplyAsync(long id, Doc doc) =>
        AfterApplyAsync(id, doc.ClassCode, doc.Body is null ? null : doc.FormatCode);

    private Task AfterApplyAsync(long id, string? classCode, string? formatCode) =>
        classCode is null && formatCode is null
            ? Task.CompletedTask
            : WriteAsync((c, t) => c.ExecuteAsync(
                """
                UPDATE document SET class_code = COALESCE(@ClassCode, class_code), format_code = COALESCE(@FormatCode, format_code)
                WHERE id = @Id;
                """,
                new { Id = id, ClassCode = classCode, FormatCode = formatCode }, t));

    private async Task<string> DocumentUniqueIdAsync(long id)
    {
        string uniqueId = "";
        await WriteAsync(async (c, t) => uniqueId = await c.ExecuteScalarAsync<string>("SELECT unique_id FROM document WHERE id = @Id;", new { Id = id }, t) ?? "");
        return uniqueId;
    }

    /// <summary>
    /// Sends one CI-SIS MDM (CDA in HL7 v2 2.1) with <paramref name="body"/> in OBX-5 and waits until it is applied.
    /// OBX-11 agrees with the trigger (T02 F, T10 C, T04 D), as the rule demands.
    /// </summary>
    private async Task<System.Text.Json.JsonElement> FeedDocumentAsync(string trigger, SeededPatient patient, Doc doc, string uniqueId, string? parent, byte[] body)
    {
        var controlId = "SEED-" + Interlocked.Increment(ref _nextMessage).ToString(CultureInfo.InvariantCulture);
        var obx11 = trigger switch { "T10" => "C", "T04" => "D", _ => "F" };
        var type = doc.TypeCode;
        var rpps = doc.AuthorRpps is null ? "" : $"8{doc.AuthorRpps}^{doc.AuthorFamily}^{doc.AuthorGiven}^^^^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^RPPS";
        var org = doc.AuthorOrg is null ? "" : $"^^^^^ASIP-SANTE-ST&1.2.250.1.71.4.2.2&ISO^FINEG^^^{doc.AuthorOrg}";
        var segments = new List<string>
        {
            $"MSH|^~\\&|SEED-DPI|{doc.AuthorOrg ?? "SEED-ETAB"}|DMP|DMP|{Now()}||MDM^{trigger}^MDM_{trigger}|{controlId}|P|2.6|||||FRA|UNICODE UTF-8|||2.1^CISIS_CDA_HL7_V2",
            $"EVN||{Now()}",
            Pid(patient),
            "PV1|1|N",
            $"TXA|1|{type}|TEXT|{Hl7Time(doc.CreatedAt ?? DateTimeOffset.UtcNow)}||||||||{Ei(uniqueId)}|{(parent is null ? "" : Ei(parent))}|||||LA",
            $"OBX|1|ED|{type}^{TypeDisplay(type)}^LN||^text^XML^Base64^{Convert.ToBase64String(body)}||||||{obx11}",
        };
        if (rpps.Length > 0)
            segments.Add($"PRT||UC||SB^^HL70912|{rpps}|||{org}");
        segments.Add($"OBX|2|CWE|MASQUE_PS^Masqué aux professionnels de Santé^MetaDMPMSS||{(doc.Masked ? "Y" : "N")}^^HL70136||||||F");
        segments.Add($"OBX|3|CWE|INVISIBLE_PATIENT^Document Non Visible par le patient^MetaDMPMSS||{(doc.HiddenFromPatient ? "Y" : "N")}^^HL70136||||||F");
        segments.Add("OBX|4|CWE|DESTDMP^Destinataire DMP^MetaDMPMSS||Y^^HL70136||||||F");
        return await SendAndWaitAsync(controlId, segments);
    }

    /// <summary>A CI-SIS-shaped CDA header (nonXMLBody text) saying what <paramref name="doc"/> says.</summary>
    private static string Cda(SeededPatient patient, Doc doc, string uniqueId, string? parent)
    {
        var created = doc.CreatedAt ?? DateTimeOffset.UtcNow;
        static string X(string? text) => System.Security.SecurityElement.Escape(text ?? "");
        static string Ii(string id) => id.Split('^') is [var root, var ext] ? $"root=\"{X(root)}\" extension=\"{X(ext)}\"" : $"root=\"{X(id)}\"";
        var author = doc.AuthorRpps is null ? "" :
            $"""
              <author><time value="{Hl7Time(created)}"/><assignedAuthor><id root="1.2.250.1.71.4.2.1" extension="8{X(doc.AuthorRpps)}"/>
                <assignedPerson><name><given>{X(doc.AuthorGiven)}</given><family>{X(doc.AuthorFamily)}</family></name></assignedPerson>
                <representedOrganization><id root="1.2.250.1.71.4.2.2" extension="{X(doc.AuthorOrg)}"/><name>{X(doc.Facility)}</name></representedOrganization>
              </assignedAuthor></author>
            """;
        var related = parent is null ? "" : $"""<relatedDocument typeCode="RPLC"><parentDocument><id {Ii(parent)}/></parentDocument></relatedDocument>""";
        return $"""
            <?xml version="1.0" encoding="UTF-8"?>
            <ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
              {(doc.Results.Count > 0 ? "<templateId root=\"1.2.250.1.213.1.1.1.1\"/>" : "")}{(doc.FormatCode == XdsSdPdf ? "<templateId root=\"1.3.6.1.4.1.19376.1.2.20\"/>" : "")}
              <id {Ii(uniqueId)}/>
              <code code="{X(doc.TypeCode)}" codeSystem="2.16.840.1.113883.6.1" displayName="{X(TypeDisplay(doc.TypeCode))}"/>
              <title>{X(doc.Title)}</title>
              <effectiveTime value="{Hl7Time(created)}"/>
              <confidentialityCode code="{X(doc.Confidentiality ?? "N")}" codeSystem="2.16.840.1.113883.5.25"/>
              <languageCode code="fr-FR"/>
              <recordTarget><patientRole><id root="{InsOid}" extension="{X(patient.Ins)}"/>
                <patient><name><given>{X(patient.Given)}</given><family>{X(patient.Family)}</family></name></patient></patientRole></recordTarget>
            {author}
              <legalAuthenticator><time value="{Hl7Time(created)}"/><signatureCode code="S"/><assignedEntity><id root="1.2.250.1.71.4.2.1" extension="8{X(doc.AuthorRpps ?? "10000000001")}"/></assignedEntity></legalAuthenticator>
              {related}
              <documentationOf><serviceEvent><effectiveTime><low value="{Hl7Time(created.AddDays(-2))}"/><high value="{Hl7Time(created.AddDays(-1))}"/></effectiveTime></serviceEvent></documentationOf>
              {Body(doc)}
            </ClinicalDocument>
            """;
    }

    /// <summary>
    /// The body: the title as text, or a CR-BIO results section (IHE PALM entry, one observation per result) whose
    /// entries the CDA rules map to Observations tied to the document.
    /// </summary>
    private static string Body(Doc doc)
    {
        if (doc.FormatCode == XdsSdPdf)
            return $"""<component><nonXMLBody><text mediaType="application/pdf" representation="B64">{Convert.ToBase64String("%PDF-1.4\n%seed\n%%EOF\n"u8)}</text></nonXMLBody></component>""";
        if (doc.Results.Count == 0)
            return $"""<component><nonXMLBody><text mediaType="text/plain">{System.Security.SecurityElement.Escape(doc.Title)}</text></nonXMLBody></component>""";
        var observations = string.Concat(doc.Results.Select(r =>
            $"""
            <entryRelationship typeCode="COMP"><observation classCode="OBS" moodCode="EVN"><templateId root="1.3.6.1.4.1.19376.1.3.1.6"/>
              <code code="{r.Code}" codeSystem="2.16.840.1.113883.6.1"/><statusCode code="completed"/><effectiveTime value="{Hl7Time(r.At)}"/>
              <value xsi:type="PQ" value="2.5" unit="m[IU]/L"/></observation></entryRelationship>
            """));
        return $"""
            <component><structuredBody><component><section><templateId root="1.3.6.1.4.1.19376.1.3.3.2.1"/>
              <code code="18719-5" codeSystem="2.16.840.1.113883.6.1"/><title>Biochimie</title><text>Résultats</text>
              <entry typeCode="DRIV"><templateId root="1.3.6.1.4.1.19376.1.3.1"/><act classCode="ACT" moodCode="EVN">
                <code code="18719-5" codeSystem="2.16.840.1.113883.6.1"/><statusCode code="completed"/>
                {observations}
              </act></entry>
            </section></component></structuredBody></component>
            """;
    }

    /// <summary>The XDS-SD format of a scanned PDF (IHE ITI TF-3 5.2), which the mapping reads off an XDS-SD CDA.</summary>
    private const string XdsSdPdf = "urn:ihe:iti:xds-sd:pdf:2008";

    private static string TypeDisplay(string type) => type switch
    {
        "11502-2" => "CR d'examens biologiques",
        "18748-4" => "CR d'imagerie médicale",
        _ => "Lettre de liaison de sortie",
    };

    /// <summary>An EI as CI-SIS writes it: extension^^root^ISO (a bare OID when there is no extension).</summary>
    private static string Ei(string uniqueId) => uniqueId.Split('^') is [var root, var ext] ? $"{ext}^^{root}^ISO" : uniqueId;

    /// <summary>HL7 DTM with its offset, so no sender time zone applies.</summary>
    private static string Hl7Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "+0000";

    /// <summary>
    /// A lab result fed as an ORU^R01 over MLLP (one OBR, one numeric OBX, both at <paramref name="effective"/>) and
    /// applied by the gateway: an Observation of <paramref name="code"/> and its DiagnosticReport, whose code is the
    /// OBR's (<paramref name="reportCode"/>, the result's own code by default). Returns both entries' ids as the API
    /// serves them: the public id the store gave each entry (its stored JSON carries it), not its row id.
    /// </summary>
    public async Task<(string Observation, string Report)> ResultAsync(long patientId, string code, DateTimeOffset effective, string? reportCode = null)
    {
        var before = await LastEntryIdAsync(patientId);
        await SendResultAsync(patientId, code, effective, reportCode);
        var fed = await EntriesAfterAsync(patientId, before);
        return (Assert.Single(fed, e => e.Kind == "Observation").Id, Assert.Single(fed, e => e.Kind == "DiagnosticReport").Id);
    }

    /// <summary>
    /// The ORU^R01 of <see cref="ResultAsync"/>, sent and applied, without reading back what it stored: sent again, its
    /// result is the same entry (its natural key) under a new report (the OBR's filler id is the message's control id).
    /// </summary>
    public Task SendResultAsync(long patientId, string code, DateTimeOffset effective, string? reportCode = null)
    {
        var controlId = "SEED-" + Interlocked.Increment(ref _nextMessage).ToString(CultureInfo.InvariantCulture);
        var at = Hl7Time(effective);
        return SendAndWaitAsync(controlId,
        [
            $"MSH|^~\\&|SEED-LAB|SEED-ETAB|DMP|DMP|{Now()}||ORU^R01^ORU_R01|{controlId}|P|2.5",
            Pid(_patients[patientId]),
            $"OBR|1||{controlId}^SEED-LAB|{reportCode ?? code}^^LN|||{at}" + new string('|', 18) + "F",
            $"OBX|1|NM|{code}^^LN||2.5|mUI/L^^UCUM|||||F|||{at}",
        ]);
    }

    /// <summary>An allergy fed as an ADT^A60 (one IAM, SNOMED CT <paramref name="code"/>) and applied; returns its entry id.</summary>
    public async Task<string> AllergyAsync(long patientId, string code, DateTimeOffset identified)
    {
        var controlId = "SEED-" + Interlocked.Increment(ref _nextMessage).ToString(CultureInfo.InvariantCulture);
        var before = await LastEntryIdAsync(patientId);
        await SendAndWaitAsync(controlId,
        [
            $"MSH|^~\\&|SEED-GAM|SEED-ETAB|DMP|DMP|{Now()}||ADT^A60^ADT_A60|{controlId}|P|2.5",
            $"EVN||{Now()}",
            Pid(_patients[patientId]),
            $"IAM|1|DA|{code}^^SCT|||A" + new string('|', 7) + Hl7Time(identified),
        ]);
        var fed = await EntriesAfterAsync(patientId, before);
        return Assert.Single(fed, e => e.Kind == "AllergyIntolerance").Id;
    }

    /// <summary>The entries of this kind the apply tied to a seeded document, with the id the API serves.</summary>
    public async Task<List<string>> EntriesOfAsync(long documentId, string kind)
    {
        var rows = new List<(long Id, string Resource)>();
        await WriteAsync(async (c, t) => rows.AddRange(await c.QueryAsync<(long Id, string Resource)>(
            "SELECT id, resource FROM entry WHERE document_id = @DocumentId AND kind = @Kind ORDER BY id;", new { DocumentId = documentId, Kind = kind }, t)));
        return rows.Select(r => ServedId(r.Id, r.Resource)).ToList();
    }

    private static string ServedId(long rowId, string resource) =>
        System.Text.Json.JsonDocument.Parse(resource).RootElement.TryGetProperty("id", out var id) && id.GetString() is { } stored
            ? stored
            : rowId.ToString(CultureInfo.InvariantCulture);

    private async Task<long> LastEntryIdAsync(long patientId)
    {
        long last = 0;
        await WriteAsync(async (c, t) => last = await c.ExecuteScalarAsync<long?>(
            "SELECT MAX(id) FROM entry WHERE patient_id = @PatientId;", new { PatientId = patientId }, t) ?? 0);
        return last;
    }

    /// <summary>The entries stored for the patient after row <paramref name="after"/>, with the id the API serves.</summary>
    private async Task<List<(string Id, string Kind)>> EntriesAfterAsync(long patientId, long after)
    {
        var rows = new List<(long Id, string Kind, string Resource)>();
        await WriteAsync(async (c, t) => rows.AddRange(await c.QueryAsync<(long Id, string Kind, string Resource)>(
            "SELECT id, kind, resource FROM entry WHERE patient_id = @PatientId AND id > @After ORDER BY id;", new { PatientId = patientId, After = after }, t)));
        return rows.Select(r => (ServedId(r.Id, r.Resource), r.Kind)).ToList();
    }

    /// <summary>Runs SQL in the store's write transaction (the single writer SQLite allows): reads back, and a test's tampering.</summary>
    public Task WriteAsync(Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task> work) =>
        Store.Writer.RunInWriteTransactionAsync(work, CancellationToken.None);

    /// <summary>The patient exercises a right through their own FHIR operation on their dossier; it must succeed.</summary>
    private async Task PatientOperationAsync(long patientId, string operation, string? parameters = null)
    {
        using var patient = Client(PatientToken(_patients[patientId].Ins));
        var (status, body) = await patient.FhirPostAsync($"/fhir/Patient/{patientId}/{operation}", parameters);
        Assert.True(status == System.Net.HttpStatusCode.OK, $"{operation} for patient {patientId}: {status} {body}");
    }

    /// <summary>ZFA (PAM France): the dossier is active; ZFA-6 opposition to emergency access; ZFA-9 feeding, ZFA-11 consultation.</summary>
    private static string Zfa(bool opposesEmergency = false, string feeding = "NA", string consultation = "NA") =>
        $"ZFA|ACTIF|{Now()}||||{(opposesEmergency ? "Y" : "")}|||{feeding}|{Now()}|{consultation}|{Now()}";

    /// <summary>
    /// Sends one PAM France ADT over MLLP from <paramref name="facility"/> (MSH-4) about <paramref name="patient"/>
    /// (PID-3 their INS, PID-32 VALI) and waits until the gateway has applied it. <paramref name="mergedIns"/>: an A40
    /// whose MRG-1 is that INS, merged into the patient.
    /// </summary>
    private async Task FeedAsync(string trigger, string facility, SeededPatient patient, string? zfa, string? mergedIns = null)
    {
        var controlId = "SEED-" + Interlocked.Increment(ref _nextMessage).ToString(CultureInfo.InvariantCulture);
        var structure = trigger switch { "A40" => "ADT_A39", "A28" or "A31" => "ADT_A05", _ => "ADT_A01" };
        var segments = new List<string>
        {
            $"MSH|^~\\&|{FeedApplication}|{facility}|DMP|DMP|{Now()}||ADT^{trigger}^{structure}|{controlId}|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM",
            $"EVN||{Now()}",
            Pid(patient),
        };
        if (mergedIns is not null)
            segments.Add("MRG|" + InsField(mergedIns));
        else
            segments.Add("PV1|1|N");
        if (zfa is not null)
            segments.Add(zfa);

        await SendAndWaitAsync(controlId, segments);
    }

    /// <summary>Sends the message over MLLP, expects AA and waits until the gateway has applied it.</summary>
    private async Task<System.Text.Json.JsonElement> SendAndWaitAsync(string controlId, IReadOnlyList<string> segments)
    {
        await using (var client = await gateway.ConnectAsync())
        {
            var ack = Hl7Samples.ReadAck(await client.SendAsync(Encoding.UTF8.GetBytes(string.Join('\r', segments))));
            Assert.True(ack.Code == "AA", ack.Raw);
        }
        // Read from the store, not the operator API: the seed also feeds gateways whose API trusts an OIDC provider only.
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (true)
        {
            var page = await Store.Queries.ListAsync(new Dmp.Store.Inbox.InboxFilter { ControlId = controlId }, 2, null, CancellationToken.None);
            var row = Assert.Single(page.Items);
            if (row.Status is "processed" or "failed" or "rejected" or "held")
            {
                var done = System.Text.Json.JsonSerializer.SerializeToElement(new { id = row.Id, controlId, status = row.Status, error = row.Error });
                Assert.True(row.Status == "processed", done.ToString());
                return done;
            }
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"message {controlId} stayed {row.Status}");
            await Task.Delay(50);
        }
    }

    /// <summary>PID-3 the patient's INS, PID-32 VALI (a validated identity).</summary>
    private static string Pid(SeededPatient patient) =>
        $"PID|1||{InsField(patient.Ins)}||{patient.Family}^{patient.Given}^^^^^L||19790328|F" + new string('|', 24) + "VALI";

    private static string InsField(string ins) => $"{ins}^^^ASIP-SANTE-INS-NIR&{InsOid}&ISO^INS";

    /// <summary>HL7 DTM with its offset, so no sender time zone applies.</summary>
    private static string Now() => Hl7Time(DateTimeOffset.UtcNow);

    /// <summary>What the seed fed about a patient, to speak of them again (A31, A40, their token).</summary>
    private sealed record SeededPatient(string Ins, string Family, string Given);

    /// <summary>A document to seed; every field has a plain default.</summary>
    public sealed record Doc
    {
        public string? UniqueId { get; init; }
        public string Status { get; init; } = "current";
        public long? ReplacesId { get; init; }
        public string TypeCode { get; init; } = "11490-0";
        /// <summary>Only when a test needs a class other than the CDA rule's table gives (set with SQL after the apply).</summary>
        public string? ClassCode { get; init; }
        /// <summary>
        /// The XDS-SD PDF format: the seed's CDA is then an XDS-SD wrapping a PDF, whose format the mapping reads. With a
        /// <see cref="Body"/> of the test's own that is no XDS-SD, set with SQL after the apply.
        /// </summary>
        public string? FormatCode { get; init; }
        public string Title { get; init; } = "Lettre de liaison";
        public DateTimeOffset? CreatedAt { get; init; }
        /// <summary>A past time the document was stored at: it is fed while the gateway's <see cref="TestClock"/> is set back to it.</summary>
        public DateTimeOffset? StoredAt { get; init; }
        public string? AuthorRpps { get; init; } = "10000000001";
        public string? AuthorFamily { get; init; } = "MARTIN";
        public string? AuthorGiven { get; init; } = "Claire";
        public string? AuthorOrg { get; init; } = "CHU-X";
        /// <summary>The author's organisation name in the CDA header, which the store keeps as the facility.</summary>
        public string? Facility { get; init; } = "SA01";
        public string? Confidentiality { get; init; } = "N";
        public bool Masked { get; init; }
        public bool HiddenFromPatient { get; init; }
        public byte[]? Body { get; init; }
        /// <summary>Lab results (LOINC code, time) the written CDA carries in a CR-BIO results section (type 11502-2).</summary>
        public IReadOnlyList<(string Code, DateTimeOffset At)> Results { get; init; } = [];
    }
}
