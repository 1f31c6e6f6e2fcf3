using System.Globalization;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// The dossier's statements whose syntax differs between dialects (insert-ignoring-duplicate, <c>RETURNING</c>,
/// row limits, the merge-chain walk), built once per dialect so applying a message never rebuilds SQL text.
/// </summary>
internal sealed class DossierStatements
{
    public DossierStatements(SqlDialect dialect)
    {
        ArgumentNullException.ThrowIfNull(dialect);
        InsertDocument = dialect.InsertIgnoringDuplicate(
            "document",
            """
            patient_id, unique_id, set_id, version, status, type_code, type_system, type_display, class_code, class_system,
            class_display, title, created_at, service_start, service_stop, author_rpps, author_family, author_given,
            author_role, author_org, facility, setting, event_code, confidentiality, language, mime_type, format_code,
            size, sha256, sha1, blob_key, masked, hidden_from_patient, inbound_message_id, stored_at, updated_at
            """,
            $"""
            @PatientId, @UniqueId, @SetId, @Version, '{DocumentStatuses.Current}', @TypeCode, @TypeSystem, @TypeDisplay, @ClassCode, @ClassSystem,
            @ClassDisplay, @Title, @CreatedAt, @ServiceStart, @ServiceStop, @AuthorRpps, @AuthorFamily, @AuthorGiven,
            @AuthorRole, @AuthorOrg, @Facility, NULL, @EventCode, @Confidentiality, @Language, @MimeType, @FormatCode,
            @Size, @Sha256, @Sha1, @BlobKey, @Masked, @Hidden, @MessageId, @Now, @Now
            """,
            returning: "id");
        InsertDocumentSource = dialect.InsertIgnoringDuplicate(
            "document_source", "document_id, inbound_message_id, sender, recorded_at", "@DocumentId, @MessageId, @Sender, @At");
        NewerVersionInSet =
            "SELECT id FROM document WHERE set_id = @SetId AND version > @Version AND patient_id = @PatientId AND id <> @Id ORDER BY version"
            + dialect.Limit("1") + ";";
        NewerReplacement =
            "SELECT id FROM document WHERE replaces_unique_id = @UniqueId AND patient_id = @PatientId AND id <> @Id ORDER BY id"
            + dialect.Limit("1") + ";";

        InsertEntry = dialect.InsertIgnoringDuplicate(
            "entry",
            "patient_id, kind, fingerprint, public_id, code, code_system, effective_at, document_id, resource, recorded_at, updated_at",
            "@PatientId, @Kind, @Fingerprint, @PublicId, @Code, @CodeSystem, @EffectiveAt, @DocumentId, @Resource, @RecordedAt, @Now",
            // Only the natural key is a duplicate: a public id drawn twice is an error, never a silent dedup.
            "patient_id, kind, fingerprint",
            returning: "id");
        // Rows written by blocks of these sizes (largest first): one statement per message up to 31 entries.
        InsertEntrySources = EntrySourceBlocks.Select(rows => dialect.InsertSelectIgnoringDuplicate(
            "entry_source", "entry_id, inbound_message_id, sender, recorded_at",
            string.Join(" UNION ALL ", EntrySourceParameters.Take(rows).Select(p => $"SELECT @{p.EntryId}, @MessageId, @Sender, @{p.At} WHERE 1 = 1"))))
            .ToArray();
        CopyEntrySources = dialect.InsertSelectIgnoringDuplicate(
            "entry_source", "entry_id, inbound_message_id, sender, recorded_at",
            "SELECT @ToId, inbound_message_id, sender, recorded_at FROM entry_source WHERE entry_id = @FromId");

        InsertFacilityChoice = dialect.InsertIgnoringDuplicate(
            "dossier_facility_choice",
            "patient_id, organisation, opposes_feeding, consents_consultation, choice_at, updated_at",
            "@Id, @Organisation, @Opposes, @Consents, @At, @Now");

        InsertPatient = dialect.InsertIgnoringDuplicate(
            "patient",
            """
            ins, ins_system, identity_status, family, given, birth_name, birth_date, sex, birth_place,
            demographics_at, created_at, updated_at
            """,
            "@Ins, @InsSystem, @IdentityStatus, @Family, @Given, @BirthName, @BirthDate, @Sex, @BirthPlace, @At, @Now, @Now",
            returning: "id");
        InsertDossier = dialect.InsertIgnoringDuplicate("dossier", "patient_id, updated_at", "@Id, @Now");
        InsertPatientIdentifier = dialect.InsertIgnoringDuplicate(
            "patient_identifier", "system, value, patient_id, kind, created_at", "@System, @Value, @PatientId, @Kind, @Now", "system, value");
        InsertPatientMerge = dialect.InsertIgnoringDuplicate(
            "patient_merge", "merged_patient_id, survivor_patient_id, inbound_message_id, merged_identifiers, merged_at",
            "@From, @To, @MessageId, @Identifiers, @Now");

        InsertAuthorization = dialect.InsertIgnoringDuplicate(
            "dossier_authorization", "patient_id, rpps, granted_at", "@Id, @Rpps, @Now", "patient_id, rpps");

        FirstPatientWithIns = $"SELECT {DossierQueries.PatientColumns} FROM patient WHERE ins = @Value ORDER BY id" + dialect.Limit("1") + ";";
        SurvivorOfId = MergeChain.SurvivorSql(dialect, "SELECT @Id");
        SurvivorOfIns = MergeChain.SurvivorSql(dialect, "SELECT id FROM patient WHERE ins_system = @System AND ins = @Value");
        SurvivorOfIdentifier = MergeChain.SurvivorSql(dialect, "SELECT patient_id FROM patient_identifier WHERE system = @System AND value = @Value");
    }

    /// <summary>Most local identifiers <see cref="PatientsByKeys"/> takes; a message naming more looks each one up alone.</summary>
    public const int MaxLocalIdentifiersInOneLookUp = 8;

    private static readonly (string System, string Value)[] KeyNames = Enumerable.Range(0, MaxLocalIdentifiersInOneLookUp + 1)
        .Select(i => (string.Create(CultureInfo.InvariantCulture, $"S{i}"), string.Create(CultureInfo.InvariantCulture, $"V{i}")))
        .ToArray();

    private readonly string?[] _patientsByKeys = new string?[2 * (MaxLocalIdentifiersInOneLookUp + 1)];

    /// <summary>
    /// The stored patient each key names, not walked through merges, in one statement: keys are numbered from 0, the INS
    /// first when <paramref name="withIns"/>, then <paramref name="locals"/> local identifiers; key i's system and value
    /// are bound as <see cref="KeyParameters"/>(i). One row per key found: its number <c>K</c>, then
    /// <see cref="DossierQueries.PatientColumns"/>. Each shape's text is built once (a race builds the same text twice).
    /// </summary>
    public string PatientsByKeys(bool withIns, int locals)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(locals);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(locals, MaxLocalIdentifiersInOneLookUp);
        var slot = (withIns ? MaxLocalIdentifiersInOneLookUp + 1 : 0) + locals;
        return _patientsByKeys[slot] ??= Build();

        string Build()
        {
            var keys = new List<string>();
            if (withIns)
                keys.Add("SELECT CAST(0 AS BIGINT) AS k, id AS start_id FROM patient WHERE ins_system = @S0 AND ins = @V0");
            while (keys.Count < (withIns ? 1 : 0) + locals)
            {
                var i = keys.Count;
                keys.Add(string.Create(CultureInfo.InvariantCulture,
                    $"SELECT CAST({i} AS BIGINT) AS k, patient_id AS start_id FROM patient_identifier WHERE system = @S{i} AND value = @V{i}"));
            }

            return $"""
                SELECT keyed.k AS K, {DossierQueries.PatientColumns}
                FROM ({string.Join(" UNION ALL ", keys)}) keyed
                JOIN patient ON patient.id = keyed.start_id;
                """;
        }
    }

    /// <summary>Key i's parameter names in <see cref="PatientsByKeys"/>: <c>S</c>i and <c>V</c>i.</summary>
    public static (string System, string Value) KeyParameters(int i) => KeyNames[i];

    /// <summary>A new document, current, returning its id (no row when its uniqueId or setId + version is stored).</summary>
    public string InsertDocument { get; }

    /// <summary>One more source (message) of a document, once per message.</summary>
    public string InsertDocumentSource { get; }

    /// <summary>The lowest higher version of a set already stored for the patient (an older version arrived late).</summary>
    public string NewerVersionInSet { get; }

    /// <summary>A stored document that names this one as the parent it replaces.</summary>
    public string NewerReplacement { get; }

    /// <summary>A new entry with its public id, returning its row id (no row when its natural key is stored for the patient).</summary>
    public string InsertEntry { get; }

    /// <summary>Rows per statement of <see cref="InsertEntrySourcesSql"/>, largest first: any count is written with these five texts.</summary>
    public static readonly int[] EntrySourceBlocks = [16, 8, 4, 2, 1];

    /// <summary>Row i's parameters in <see cref="InsertEntrySourcesSql"/>: the entry's id and when the message recorded it.</summary>
    public static readonly (string EntryId, string At)[] EntrySourceParameters = Enumerable.Range(0, EntrySourceBlocks[0])
        .Select(i => (string.Create(CultureInfo.InvariantCulture, $"E{i}"), string.Create(CultureInfo.InvariantCulture, $"A{i}")))
        .ToArray();

    private string[] InsertEntrySources { get; }

    /// <summary>
    /// One more source (the message <c>@MessageId</c> from <c>@Sender</c>) for <paramref name="rows"/> entries (one of
    /// <see cref="EntrySourceBlocks"/>), each once per message: an entry already sourced by the message is skipped.
    /// </summary>
    public string InsertEntrySourcesSql(int rows) => InsertEntrySources[Array.IndexOf(EntrySourceBlocks, rows)];

    /// <summary>A merged entry's sources given to the survivor's entry of the same natural key.</summary>
    public string CopyEntrySources { get; }

    /// <summary>A facility's first recorded choices for a patient.</summary>
    public string InsertFacilityChoice { get; }

    /// <summary>A new patient, returning its id (no row when another writer created the INS patient first).</summary>
    public string InsertPatient { get; }

    /// <summary>A patient's dossier, open (opt-out).</summary>
    public string InsertDossier { get; }

    /// <summary>An identifier joins a patient unless it belongs to one already.</summary>
    public string InsertPatientIdentifier { get; }

    /// <summary>The record of a merge.</summary>
    public string InsertPatientMerge { get; }

    /// <summary>A professional's authorisation, once.</summary>
    public string InsertAuthorization { get; }

    /// <summary>The first patient (by id) with an INS of any system.</summary>
    public string FirstPatientWithIns { get; }

    /// <summary>The survivor of patient <c>@Id</c>.</summary>
    public string SurvivorOfId { get; }

    /// <summary>The survivor of the patient with INS <c>@System</c>, <c>@Value</c>.</summary>
    public string SurvivorOfIns { get; }

    /// <summary>The survivor of the patient a local identifier (<c>@System</c>, <c>@Value</c>) belongs to.</summary>
    public string SurvivorOfIdentifier { get; }
}
