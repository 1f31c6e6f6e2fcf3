using System.Security.Cryptography;
using System.Text;
using Dapper;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// Fills the dossier tables of a running gateway directly with SQL through its store (as the inbound
/// pipeline would), with bodies in its blob store, so the dossier API can be driven over HTTP.
/// </summary>
internal sealed class DossierSeed(TestGateway gateway)
{
    public const string InsOid = "1.2.250.1.213.1.4.8";
    private static int _nextIns;

    private DmpStore Store => gateway.Services.GetRequiredService<DmpStore>();

    /// <summary>A fresh 15-character INS, different in every call of the test run.</summary>
    public static string NewIns() => "1" + Interlocked.Increment(ref _nextIns).ToString("D14", System.Globalization.CultureInfo.InvariantCulture);

    public static string PatientToken(string ins) => Token(DmpClaims.Patient, ins: ins);
    public static string ProfessionalToken(string rpps, string? org = null) => Token(DmpClaims.Professional, rpps: rpps, org: org);
    public static string OperatorToken() => Token(DmpClaims.Operator);

    public static string Token(string role, string? ins = null, string? rpps = null, string? org = null) =>
        TokenIssuer.Issue(Encoding.UTF8.GetBytes(TestGateway.SigningKey), "dmp-ingest", role, ins, rpps, org, TimeSpan.FromHours(1));

    /// <summary>An HTTP client of the gateway holding this token (and an emergency reason when given).</summary>
    public HttpClient Client(string token, string? breakGlassReason = null) => gateway.Client(token, breakGlassReason);

    /// <summary>A patient with an INS and (unless <paramref name="withDossier"/> is false) a dossier.</summary>
    public async Task<long> PatientAsync(
        string ins, string family = "DUPONT", string given = "JEAN", bool withDossier = true, string status = "open",
        bool opposesEmergency = false, string? treatingRpps = null, long? mergedInto = null)
    {
        long id = 0;
        var now = StoreTime.Write(DateTimeOffset.UtcNow);
        await WriteAsync(async (c, t) =>
        {
            id = await c.ExecuteScalarAsync<long>(
                """
                INSERT INTO patient (ins, ins_system, identity_status, family, given, birth_date, sex, merged_into, created_at, updated_at)
                VALUES (@Ins, @InsSystem, 'VALI', @Family, @Given, '1979-03-28', 'F', @MergedInto, @Now, @Now) RETURNING id;
                """,
                new { Ins = ins, InsSystem = InsOid, Family = family, Given = given, MergedInto = mergedInto, Now = now }, t);
            await c.ExecuteAsync(
                "INSERT INTO patient_identifier (system, value, patient_id, kind, created_at) VALUES (@System, @Value, @Id, 'ins', @Now);",
                new { System = InsOid, Value = ins, Id = id, Now = now }, t);
            if (withDossier)
            {
                await c.ExecuteAsync(
                    """
                    INSERT INTO dossier (patient_id, status, opposes_emergency, treating_rpps, closed_at, updated_at)
                    VALUES (@Id, @Status, @Opposes, @Treating, NULL, @Now);
                    """,
                    new { Id = id, Status = status, Opposes = opposesEmergency, Treating = treatingRpps, Now = now }, t);
            }
        });
        return id;
    }

    public Task AuthorizeAsync(long patientId, string rpps) => WriteAsync((c, t) => c.ExecuteAsync(
        "INSERT INTO dossier_authorization (patient_id, rpps, granted_at) VALUES (@PatientId, @Rpps, @Now);",
        new { PatientId = patientId, Rpps = rpps, Now = StoreTime.Write(DateTimeOffset.UtcNow) }, t));

    /// <summary>The choices an organisation's ADT recorded (ZFA-9 / ZFA-11), as MSH-4 text like `CHU-X`.</summary>
    public Task FacilityChoiceAsync(long patientId, string organisation, bool consentsConsultation, bool opposesFeeding = false) =>
        WriteAsync((c, t) => c.ExecuteAsync(
            """
            INSERT INTO dossier_facility_choice (patient_id, organisation, opposes_feeding, consents_consultation, choice_at, updated_at)
            VALUES (@PatientId, @Organisation, @Feeding, @Consents, @Now, @Now);
            """,
            new { PatientId = patientId, Organisation = organisation, Feeding = opposesFeeding, Consents = consentsConsultation, Now = StoreTime.Write(DateTimeOffset.UtcNow) }, t));

    /// <summary>A document with its body in the blob store; returns its id.</summary>
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

    /// <summary>A clinical entry with its FHIR JSON (as the pipeline stores it, without a subject).</summary>
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
