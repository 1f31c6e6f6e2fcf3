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
/// makes them. Documents and entries are still written with SQL: see <see cref="DocumentAsync"/> for why.
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
    /// A document with its body in the blob store; returns its id. Written with SQL, not fed, because the feed cannot
    /// yet say what these tests ask of a document: the CDA-in-HL7v2 mapping writes no class code, format code, facility
    /// or service period (the search tests filter on them), keeps the CDA's id over TXA-12 (a test pairs a corpus body
    /// with an id of its own), and the real apply appends a `deposit` audit event the audit tests' counts leave out.
    /// </summary>
    public async Task<long> DocumentAsync(long patientId, Doc? doc = null)
    {
        doc ??= new Doc();
        var body = doc.Body ?? Encoding.UTF8.GetBytes($"<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>{doc.Title}</title></ClinicalDocument>");
        var key = await Store.Blobs.PutAsync(body, CancellationToken.None);
        var stored = doc.StoredAt ?? DateTimeOffset.UtcNow;
        long id = 0;
        await WriteAsync(async (c, t) =>
        {
            id = await c.ExecuteScalarAsync<long>(
                """
                INSERT INTO document (patient_id, unique_id, set_id, version, replaces_id, status, type_code, type_system, type_display,
                    class_code, class_system, class_display, title, created_at, service_start, service_stop, author_rpps, author_family,
                    author_given, author_role, author_org, facility, setting, event_code, confidentiality, language, mime_type, format_code,
                    size, sha256, sha1, blob_key, masked, hidden_from_patient, hidden_until, stored_at, updated_at)
                VALUES (@PatientId, @UniqueId, NULL, NULL, @ReplacesId, @Status, @TypeCode, '2.16.840.1.113883.6.1', @TypeDisplay,
                    @ClassCode, '1.2.250.1.213.1.1.4.1', NULL, @Title, @CreatedAt, @ServiceStart, @ServiceStop, @AuthorRpps, @AuthorFamily,
                    @AuthorGiven, 'médecin', @AuthorOrg, @Facility, @Setting, @EventCode, @Confidentiality, 'fr-FR', @MimeType, @FormatCode,
                    @Size, @Sha256, @Sha1, @BlobKey, @Masked, @Hidden, NULL, @StoredAt, @StoredAt)
                RETURNING id;
                """,
                new
                {
                    PatientId = patientId,
                    UniqueId = doc.UniqueId ?? "1.2.250.1.999.1." + Guid.NewGuid().ToString("N")[..12] + "^" + Interlocked.Increment(ref _nextIns),
                    doc.ReplacesId,
                    doc.Status,
                    doc.TypeCode,
                    TypeDisplay = doc.TypeCode switch { "11502-2" => "CR d'examens biologiques", "18748-4" => "CR d'imagerie médicale", _ => "Lettre de liaison de sortie" },
                    doc.ClassCode,
                    doc.Title,
                    CreatedAt = StoreTime.Write(doc.CreatedAt ?? stored),
                    ServiceStart = StoreTime.Write((doc.CreatedAt ?? stored).AddDays(-2)),
                    ServiceStop = StoreTime.Write((doc.CreatedAt ?? stored).AddDays(-1)),
                    doc.AuthorRpps,
                    doc.AuthorFamily,
                    doc.AuthorGiven,
                    doc.AuthorOrg,
                    doc.Facility,
                    Setting = "ETABLISSEMENT",
                    EventCode = (string?)null,
                    doc.Confidentiality,
                    doc.MimeType,
                    FormatCode = "urn:ihe:iti:xds-sd:pdf:2008",
                    Size = (long)body.Length,
                    Sha256 = Convert.ToHexStringLower(SHA256.HashData(body)),
                    Sha1 = Convert.ToBase64String(SHA1.HashData(body)),
                    BlobKey = key,
                    doc.Masked,
                    Hidden = doc.HiddenFromPatient,
                    StoredAt = StoreTime.Write(stored),
                }, t);
        });
        return id;
    }

    /// <summary>
    /// A clinical entry with its FHIR JSON (as the pipeline stores it, without a subject). Written with SQL: an entry
    /// tied to an already stored document (<paramref name="documentId"/>) can only arrive in that document's body.
    /// </summary>
    public async Task<long> EntryAsync(long patientId, string kind, string code, DateTimeOffset effective, long? documentId = null, string? json = null)
    {
        json ??= kind switch
        {
            "Observation" => $$$"""{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"{{{code}}}"}]},"effectiveDateTime":"{{{effective:yyyy-MM-ddTHH:mm:ssZ}}}","valueQuantity":{"value":2.5,"unit":"mUI/L","system":"http://unitsofmeasure.org","code":"m[IU]/L"}}""",
            "AllergyIntolerance" => $$$"""{"resourceType":"AllergyIntolerance","code":{"coding":[{"system":"http://snomed.info/sct","code":"{{{code}}}"}]},"patient":{"reference":"Patient/bundle-local"}}""",
            _ => $$$"""{"resourceType":"{{{kind}}}","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"{{{code}}}"}]},"subject":{"reference":"urn:uuid:x"}}""",
        };
        long id = 0;
        await WriteAsync(async (c, t) =>
        {
            id = await c.ExecuteScalarAsync<long>(
                """
                INSERT INTO entry (patient_id, kind, fingerprint, code, code_system, effective_at, document_id, resource, recorded_at, updated_at)
                VALUES (@PatientId, @Kind, @Fingerprint, @Code, 'http://loinc.org', @Effective, @DocumentId, @Resource, @Now, @Now) RETURNING id;
                """,
                new
                {
                    PatientId = patientId, Kind = kind, Fingerprint = Guid.NewGuid().ToString("N"), Code = code,
                    Effective = StoreTime.Write(effective), DocumentId = documentId, Resource = json, Now = StoreTime.Write(DateTimeOffset.UtcNow),
                }, t);
        });
        return id;
    }

    /// <summary>Runs SQL in the store's write transaction (the single writer SQLite allows).</summary>
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
            $"PID|1||{InsField(patient.Ins)}||{patient.Family}^{patient.Given}^^^^^L||19790328|F" + new string('|', 24) + "VALI",
        };
        if (mergedIns is not null)
            segments.Add("MRG|" + InsField(mergedIns));
        else
            segments.Add("PV1|1|N");
        if (zfa is not null)
            segments.Add(zfa);

        await using (var client = await gateway.ConnectAsync())
        {
            var ack = Hl7Samples.ReadAck(await client.SendAsync(Encoding.UTF8.GetBytes(string.Join('\r', segments))));
            Assert.True(ack.Code == "AA", ack.Raw);
        }
        var row = await gateway.SingleAsync(controlId);
        await gateway.WaitForStatusAsync(row.Id(), "processed");
    }

    private static string InsField(string ins) => $"{ins}^^^ASIP-SANTE-INS-NIR&{InsOid}&ISO^INS";

    /// <summary>HL7 DTM with its offset, so no sender time zone applies.</summary>
    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "+0000";

    /// <summary>What the seed fed about a patient, to speak of them again (A31, A40, their token).</summary>
    private sealed record SeededPatient(string Ins, string Family, string Given);

    /// <summary>A document to seed; every field has a plain default.</summary>
    public sealed record Doc
    {
        public string? UniqueId { get; init; }
        public string Status { get; init; } = "current";
        public long? ReplacesId { get; init; }
        public string TypeCode { get; init; } = "11490-0";
        public string ClassCode { get; init; } = "10";
        public string Title { get; init; } = "Lettre de liaison";
        public DateTimeOffset? CreatedAt { get; init; }
        public DateTimeOffset? StoredAt { get; init; }
        public string? AuthorRpps { get; init; } = "10000000001";
        public string? AuthorFamily { get; init; } = "MARTIN";
        public string? AuthorGiven { get; init; } = "Claire";
        public string? AuthorOrg { get; init; } = "CHU-X";
        public string? Facility { get; init; } = "SA01";
        public string? Confidentiality { get; init; } = "N";
        public string MimeType { get; init; } = "text/xml";
        public bool Masked { get; init; }
        public bool HiddenFromPatient { get; init; }
        public byte[]? Body { get; init; }
    }
}
