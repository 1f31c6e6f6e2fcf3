using System.Globalization;
using System.Text;
using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// The read side of the dossier store, for the dossier API: patients, a dossier's access facts, and
/// pages of documents and entries filtered in SQL by what the caller may see (<see cref="CallerView"/>).
/// Pages are keyset-paged on (sort key, id), newest first by default, so a page never loads the dossier.
/// </summary>
public sealed class DossierQueries
{
    /// <summary>Largest page a search returns.</summary>
    public const int MaxPage = 100;

    /// <summary>How many merge links are followed from a patient to its survivor (<see cref="MergeChain.MaxHops"/>).</summary>
    internal const int MaxMergeHops = MergeChain.MaxHops;

    /// <summary>The columns of <see cref="PatientRecord"/>, for every reader of <c>patient</c>.</summary>
    internal const string PatientColumns =
        """
        id AS Id, ins AS Ins, ins_system AS InsSystem, identity_status AS IdentityStatus, family AS Family, given AS Given,
        birth_name AS BirthName, birth_date AS BirthDate, sex AS Sex, birth_place AS BirthPlace, demographics_at AS DemographicsAt,
        merged_into AS MergedInto, updated_at AS UpdatedAt
        """;

    private const string DocumentSortKey = "COALESCE(d.created_at, d.stored_at)";
    private const string EntrySortKey = "COALESCE(e.effective_at, e.recorded_at)";

    private const string DocumentColumns =
        """
        d.id AS Id, d.patient_id AS PatientId, d.unique_id AS UniqueId, d.set_id AS SetId, d.version AS Version,
        d.replaces_id AS ReplacesId, d.replaced_by_id AS ReplacedById, d.status AS Status,
        d.type_code AS TypeCode, d.type_system AS TypeSystem, d.type_display AS TypeDisplay,
        d.class_code AS ClassCode, d.class_system AS ClassSystem, d.class_display AS ClassDisplay, d.title AS Title,
        d.created_at AS CreatedAt, d.service_start AS ServiceStart, d.service_stop AS ServiceStop,
        d.author_rpps AS AuthorRpps, d.author_family AS AuthorFamily, d.author_given AS AuthorGiven, d.author_role AS AuthorRole,
        d.author_org AS AuthorOrg, d.facility AS Facility, d.setting AS Setting, d.event_code AS EventCode,
        d.confidentiality AS Confidentiality, d.language AS Language, d.mime_type AS MimeType, d.format_code AS FormatCode,
        d.size AS Size, d.sha256 AS Sha256, d.sha1 AS Sha1, d.blob_key AS BlobKey, d.masked AS Masked,
        d.hidden_from_patient AS HiddenFromPatient, d.hidden_until AS HiddenUntil, d.stored_at AS StoredAt, d.updated_at AS UpdatedAt,
        COALESCE(d.created_at, d.stored_at) AS SortKey
        """;

    private const string EntryColumns =
        """
        e.id AS Id, e.patient_id AS PatientId, e.kind AS Kind, e.code AS Code, e.code_system AS CodeSystem,
        e.effective_at AS EffectiveAt, e.document_id AS DocumentId, e.resource AS Resource, e.recorded_at AS RecordedAt,
        e.updated_at AS UpdatedAt, COALESCE(e.effective_at, e.recorded_at) AS SortKey
        """;

    private readonly SqlDialect _connections;

    public DossierQueries(SqlDialect connections)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
    }

    /// <summary>The patient with this id as stored (merged or not), or null.</summary>
    public async Task<PatientRecord?> GetPatientAsync(long id, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.QuerySingleOrDefaultAsync<PatientRecord>(new CommandDefinition(
                $"SELECT {PatientColumns} FROM patient WHERE id = @Id;", new { Id = id },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The patient an A40 merge kept for this one: itself when not merged, else the end of its
    /// <c>merged_into</c> links (<see cref="MergeChain"/>); null when a link is dangling or loops.
    /// </summary>
    public async Task<PatientRecord?> ResolveSurvivorAsync(PatientRecord patient, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(patient);
        if (patient.MergedInto is null)
            return patient;
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.QuerySingleOrDefaultAsync<PatientRecord>(new CommandDefinition(
                MergeChain.SurvivorSql("SELECT @Id"), new { Id = patient.Id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The patient known by this identifier: its INS (any INS system when <paramref name="system"/> is null),
    /// else a local identifier of <c>patient_identifier</c> with exactly this system. Not resolved through merges.
    /// </summary>
    public async Task<PatientRecord?> FindPatientByIdentifierAsync(string? system, string value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var byIns = await connection.QueryFirstOrDefaultAsync<PatientRecord>(new CommandDefinition(
                system is null
                    ? $"SELECT {PatientColumns} FROM patient WHERE ins = @Value ORDER BY id LIMIT 1;"
                    : $"SELECT {PatientColumns} FROM patient WHERE ins_system = @System AND ins = @Value;",
                new { System = system, Value = value }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (byIns is not null || system is null)
                return byIns;
            return await connection.QueryFirstOrDefaultAsync<PatientRecord>(new CommandDefinition(
                $"""
                SELECT {PatientColumns} FROM patient
                WHERE id = (SELECT patient_id FROM patient_identifier WHERE system = @System AND value = @Value);
                """,
                new { System = system, Value = value }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The dossier's state and the choices that decide whether this professional may read it: an
    /// authorisation of <paramref name="rpps"/>, a consent to consultation recorded by <paramref name="organisation"/>.
    /// Null when the patient has no dossier.
    /// </summary>
    public async Task<DossierFacts?> GetDossierAsync(long patientId, string? rpps, string? organisation, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.QuerySingleOrDefaultAsync<DossierFacts>(new CommandDefinition(
                """
                SELECT d.patient_id AS PatientId, d.status AS Status, d.opposes_emergency AS OpposesEmergency,
                       d.treating_rpps AS TreatingRpps, d.closed_at AS ClosedAt,
                       CASE WHEN EXISTS (SELECT 1 FROM dossier_authorization a WHERE a.patient_id = d.patient_id AND a.rpps = @Rpps)
                            THEN 1 ELSE 0 END AS AuthorisedCount,
                       CASE WHEN EXISTS (SELECT 1 FROM dossier_facility_choice f
                                         WHERE f.patient_id = d.patient_id AND f.organisation = @Organisation AND f.consents_consultation = @Yes)
                            THEN 1 ELSE 0 END AS OrganisationConsentCount
                FROM dossier d WHERE d.patient_id = @PatientId;
                """,
                new { PatientId = patientId, Rpps = rpps, Organisation = organisation, Yes = true },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>The document with this id when <paramref name="visibility"/> lets it be seen (any document, deleted included, when null).</summary>
    public async Task<DocumentRow?> GetDocumentAsync(long id, CallerView? visibility, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"SELECT {DocumentColumns} FROM document d WHERE d.id = @Id");
        var parameters = new DynamicParameters();
        parameters.Add("Id", id);
        if (visibility is not null)
            AppendVisibility(sql, parameters, visibility, "d");
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.QuerySingleOrDefaultAsync<DocumentRow>(new CommandDefinition(
                sql.Append(';').ToString(), parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>One page of a dossier's documents matching the filter that the visibility lets the caller see.</summary>
    public async Task<Page<DocumentRow>> SearchDocumentsAsync(
        DocumentFilter filter, CallerView visibility, PageRequest page, CancellationToken cancellationToken)
    {
        var (sql, parameters) = DocumentSearch(filter, visibility, page);
        var rows = await QueryAsync<DocumentRow>(sql, parameters, cancellationToken).ConfigureAwait(false);
        return ToPage(rows, page.Limit, r => new PageKey(r.SortKey, r.Id));
    }

    /// <summary>The SQL of <see cref="SearchDocumentsAsync"/> (query-plan tests read it).</summary>
    internal (string Sql, DynamicParameters Parameters) DocumentSearch(DocumentFilter filter, CallerView visibility, PageRequest page)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(visibility);
        ArgumentNullException.ThrowIfNull(page);
        var sql = new StringBuilder($"SELECT {DocumentColumns} FROM document d WHERE d.patient_id = @PatientId");
        var parameters = new DynamicParameters();
        parameters.Add("PatientId", filter.PatientId);
        var names = new ParameterNames();

        if (filter.Statuses.Count > 0)
        {
            sql.Append(" AND ").Append(_connections.InList("d.status", "Statuses"));
            parameters.Add("Statuses", filter.Statuses.ToArray());
        }

        AppendCodes(sql, parameters, names, filter.Types, "d.type_code", "d.type_system");
        AppendCodes(sql, parameters, names, filter.Categories, "d.class_code", "d.class_system");
        AppendCodes(sql, parameters, names, filter.Formats, "d.format_code", null);
        AppendCodes(sql, parameters, names, filter.Facilities, "d.facility", null);
        AppendCodes(sql, parameters, names, filter.Settings, "d.setting", null);
        AppendCodes(sql, parameters, names, filter.Events, "d.event_code", null);
        AppendCodes(sql, parameters, names, filter.UniqueIds, "d.unique_id", null);

        foreach (var group in filter.SecurityLabels)
        {
            var any = new List<string>();
            foreach (var label in group)
            {
                switch (label)
                {
                    case DocumentFilter.MaskedLabel:
                        any.Add($"d.masked = @{names.Add(parameters, true)}");
                        break;
                    case DocumentFilter.HiddenFromPatientLabel:
                        any.Add($"d.hidden_from_patient = @{names.Add(parameters, true)}");
                        break;
                    default:
                        any.Add($"d.confidentiality = @{names.Add(parameters, label)}");
                        break;
                }
            }

            sql.Append(" AND (").AppendJoin(" OR ", any).Append(')');
        }

        foreach (var group in filter.AuthorGiven)
            AppendPrefixes(sql, parameters, names, group, "d.author_given");
        foreach (var group in filter.AuthorFamily)
            AppendPrefixes(sql, parameters, names, group, "d.author_family");

        foreach (var group in filter.RelatedTo)
        {
            var ids = group.ToArray();
            sql.Append(" AND (").Append(_connections.InList("d.replaces_id", names.Add(parameters, ids)))
               .Append(" OR ").Append(_connections.InList("d.replaced_by_id", names.Add(parameters, ids))).Append(')');
        }

        AppendBounds(sql, parameters, names, filter.Date, DocumentSortKey);
        AppendBounds(sql, parameters, names, filter.Creation, "d.created_at");
        // context.period overlaps the bound: its end is not before a lower bound, its start not after an upper one.
        foreach (var bound in filter.Period)
        {
            var column = bound.IsLower ? "COALESCE(d.service_stop, d.service_start)" : "COALESCE(d.service_start, d.service_stop)";
            AppendBounds(sql, parameters, names, [bound], column);
        }

        AppendVisibility(sql, parameters, visibility, "d");
        AppendPage(sql, parameters, DocumentSortKey, "d.id", page);
        return (sql.ToString(), parameters);
    }

    /// <summary>One page of a dossier's entries of the given kinds; entries from a document the caller may not see are left out.</summary>
    public async Task<Page<EntryRow>> SearchEntriesAsync(
        EntryFilter filter, CallerView visibility, PageRequest page, CancellationToken cancellationToken)
    {
        var (sql, parameters) = EntrySearch(filter, visibility, page);
        var rows = await QueryAsync<EntryRow>(sql, parameters, cancellationToken).ConfigureAwait(false);
        return ToPage(rows, page.Limit, r => new PageKey(r.SortKey, r.Id));
    }

    /// <summary>The SQL of <see cref="SearchEntriesAsync"/> (query-plan tests read it).</summary>
    internal (string Sql, DynamicParameters Parameters) EntrySearch(EntryFilter filter, CallerView visibility, PageRequest page)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(visibility);
        ArgumentNullException.ThrowIfNull(page);
        var sql = new StringBuilder($"SELECT {EntryColumns} FROM entry e LEFT JOIN document d ON d.id = e.document_id WHERE e.patient_id = @PatientId");
        var parameters = new DynamicParameters();
        parameters.Add("PatientId", filter.PatientId);
        var names = new ParameterNames();
        if (filter.Kinds.Count == 1)
        {
            sql.Append(" AND e.kind = @Kind");
            parameters.Add("Kind", filter.Kinds[0]);
        }
        else
        {
            sql.Append(" AND ").Append(_connections.InList("e.kind", "Kinds"));
            parameters.Add("Kinds", filter.Kinds.ToArray());
        }

        AppendCodes(sql, parameters, names, filter.Codes, "e.code", "e.code_system");
        AppendBounds(sql, parameters, names, filter.Date, EntrySortKey);

        var visible = new StringBuilder();
        AppendVisibility(visible, parameters, visibility, "d");
        sql.Append(" AND (e.document_id IS NULL OR (1 = 1").Append(visible).Append("))");
        AppendPage(sql, parameters, EntrySortKey, "e.id", page);
        return (sql.ToString(), parameters);
    }

    /// <summary>Keyset paging: after the previous page's last (sort key, id), in the page's order, one row more than asked (to know there is a next page).</summary>
    private static void AppendPage(StringBuilder sql, DynamicParameters parameters, string sortKey, string idColumn, PageRequest page)
    {
        var limit = Math.Clamp(page.Limit, 1, MaxPage);
        var direction = page.Ascending ? "ASC" : "DESC";
        if (page.After is { } after)
        {
            var op = page.Ascending ? ">" : "<";
            sql.Append(CultureInfo.InvariantCulture, $" AND ({sortKey} {op} @AfterKey OR ({sortKey} = @AfterKey AND {idColumn} {op} @AfterId))");
            parameters.Add("AfterKey", after.SortKey);
            parameters.Add("AfterId", after.Id);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {sortKey} {direction}, {idColumn} {direction} LIMIT @Limit;");
        parameters.Add("Limit", limit + 1);
    }

    private async Task<List<T>> QueryAsync<T>(string sql, DynamicParameters parameters, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return (await connection.QueryAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken))
                .ConfigureAwait(false)).AsList();
        }
    }

    private static Page<T> ToPage<T>(List<T> rows, int requested, Func<T, PageKey> keyOf)
    {
        var limit = Math.Clamp(requested, 1, MaxPage);
        if (rows.Count <= limit)
            return new Page<T>(rows, null);
        rows.RemoveAt(rows.Count - 1);
        return new Page<T>(rows, keyOf(rows[^1]));
    }

    /// <summary>
    /// What the caller may see of the documents aliased <paramref name="alias"/>: never a deleted one;
    /// masked ones only when allowed (or their author); for the patient, hidden ones once unhidden or past their delay.
    /// </summary>
    private static void AppendVisibility(StringBuilder sql, DynamicParameters parameters, CallerView visibility, string alias)
    {
        sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.status <> '{DocumentStatuses.Deleted}'");
        parameters.Add("VisNo", false);
        if (!visibility.IncludeMasked)
        {
            if (visibility.MaskedAuthorRpps is { } author)
            {
                sql.Append(CultureInfo.InvariantCulture, $" AND ({alias}.masked = @VisNo OR {alias}.author_rpps = @VisAuthor)");
                parameters.Add("VisAuthor", author);
            }
            else
            {
                sql.Append(CultureInfo.InvariantCulture, $" AND {alias}.masked = @VisNo");
            }
        }

        if (visibility.PatientView)
        {
            sql.Append(CultureInfo.InvariantCulture,
                $" AND ({alias}.hidden_from_patient = @VisNo OR {alias}.stored_at <= @VisHiddenCutoff OR ({alias}.hidden_until IS NOT NULL AND {alias}.hidden_until <= @VisNow))");
            parameters.Add("VisHiddenCutoff", StoreTime.Write(visibility.HiddenStoredBefore));
            parameters.Add("VisNow", StoreTime.Write(visibility.Now));
        }
    }

    /// <summary>Each group is one parameter occurrence (ANDed); its codes are alternatives (ORed).</summary>
    private void AppendCodes(
        StringBuilder sql, DynamicParameters parameters, ParameterNames names, IReadOnlyList<IReadOnlyList<CodeMatch>> groups,
        string codeColumn, string? systemColumn)
    {
        foreach (var group in groups)
        {
            var any = new List<string>();
            foreach (var match in group)
            {
                var clause = $"{codeColumn} = @{names.Add(parameters, match.Code)}";
                if (systemColumn is not null && match.Systems is { Count: > 0 } systems)
                    clause += $" AND ({systemColumn} IS NULL OR {_connections.InList(systemColumn, names.Add(parameters, systems.ToArray()))})";
                any.Add("(" + clause + ")");
            }

            sql.Append(" AND (").AppendJoin(" OR ", any).Append(')');
        }
    }

    /// <summary>A case-insensitive "starts with" on the column, for FHIR string parameters.</summary>
    private static void AppendPrefixes(StringBuilder sql, DynamicParameters parameters, ParameterNames names, IReadOnlyList<string> prefixes, string column)
    {
        var any = prefixes.Select(p =>
            $"LOWER({column}) LIKE @{names.Add(parameters, EscapeLike(p.ToLowerInvariant()) + "%")} ESCAPE '\\'");
        sql.Append(" AND (").AppendJoin(" OR ", any).Append(')');
    }

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private static void AppendBounds(StringBuilder sql, DynamicParameters parameters, ParameterNames names, IReadOnlyList<TimeBound> bounds, string column)
    {
        foreach (var bound in bounds)
        {
            var op = bound.Comparison switch
            {
                TimeComparison.Before => "<",
                TimeComparison.NotAfter => "<=",
                TimeComparison.After => ">",
                TimeComparison.NotBefore => ">=",
                _ => throw new ArgumentOutOfRangeException(nameof(bounds), bound.Comparison, "unknown comparison"),
            };
            sql.Append(CultureInfo.InvariantCulture, $" AND {column} {op} @{names.Add(parameters, StoreTime.Write(bound.Value))}");
        }
    }

    /// <summary>Numbered parameter names for the clauses a filter adds.</summary>
    private sealed class ParameterNames
    {
        private int _next;

        public string Add(DynamicParameters parameters, object value)
        {
            var name = "P" + (_next++).ToString(CultureInfo.InvariantCulture);
            parameters.Add(name, value);
            return name;
        }
    }
}

/// <summary>A patient as stored (<c>patient</c>).</summary>
public sealed record PatientRecord
{
    public long Id { get; init; }
    public string? Ins { get; init; }
    public string? InsSystem { get; init; }
    public string? IdentityStatus { get; init; }
    public string? Family { get; init; }
    public string? Given { get; init; }
    public string? BirthName { get; init; }
    public string? BirthDate { get; init; }
    public string? Sex { get; init; }
    public string? BirthPlace { get; init; }
    /// <summary>The event time (EVN-2, else MSH-7) of the stored demographics: an older update does not overwrite them.</summary>
    public string? DemographicsAt { get; init; }
    public long? MergedInto { get; init; }
    public string UpdatedAt { get; init; } = "";
}

/// <summary>A dossier's state and, for one professional, what authorises them.</summary>
public sealed record DossierFacts
{
    public long PatientId { get; init; }
    public string Status { get; init; } = DossierStatuses.Open;
    public bool OpposesEmergency { get; init; }
    public string? TreatingRpps { get; init; }
    public string? ClosedAt { get; init; }
    public long AuthorisedCount { get; init; }
    public long OrganisationConsentCount { get; init; }

    public bool IsOpen => Status == DossierStatuses.Open;

    /// <summary>The patient authorised the professional asked about ($authorize).</summary>
    public bool ProfessionalAuthorised => AuthorisedCount > 0;

    /// <summary>The organisation asked about recorded the patient's consent to consultation (ZFA-11 = IC).</summary>
    public bool OrganisationConsents => OrganisationConsentCount > 0;
}

/// <summary>The values of <c>dossier.status</c>.</summary>
public static class DossierStatuses
{
    public const string Open = "open";
    public const string Closed = "closed";
}

/// <summary>The values of <c>document.status</c>.</summary>
public static class DocumentStatuses
{
    public const string Current = "current";
    public const string Superseded = "superseded";
    public const string Deleted = "deleted";
}

/// <summary>A document's metadata as stored (<c>document</c>), with its sort key (creation time, else storage time).</summary>
public sealed record DocumentRow
{
    public long Id { get; init; }
    public long PatientId { get; init; }
    public string UniqueId { get; init; } = "";
    public string? SetId { get; init; }
    public long? Version { get; init; }
    public long? ReplacesId { get; init; }
    public long? ReplacedById { get; init; }
    public string Status { get; init; } = DocumentStatuses.Current;
    public string? TypeCode { get; init; }
    public string? TypeSystem { get; init; }
    public string? TypeDisplay { get; init; }
    public string? ClassCode { get; init; }
    public string? ClassSystem { get; init; }
    public string? ClassDisplay { get; init; }
    public string? Title { get; init; }
    public string? CreatedAt { get; init; }
    public string? ServiceStart { get; init; }
    public string? ServiceStop { get; init; }
    public string? AuthorRpps { get; init; }
    public string? AuthorFamily { get; init; }
    public string? AuthorGiven { get; init; }
    public string? AuthorRole { get; init; }
    public string? AuthorOrg { get; init; }
    public string? Facility { get; init; }
    public string? Setting { get; init; }
    public string? EventCode { get; init; }
    public string? Confidentiality { get; init; }
    public string? Language { get; init; }
    public string? MimeType { get; init; }
    public string? FormatCode { get; init; }
    public long? Size { get; init; }
    public string? Sha256 { get; init; }
    public string? Sha1 { get; init; }
    public string? BlobKey { get; init; }
    public bool Masked { get; init; }
    public bool HiddenFromPatient { get; init; }
    public string? HiddenUntil { get; init; }
    public string StoredAt { get; init; } = "";
    public string UpdatedAt { get; init; } = "";
    public string SortKey { get; init; } = "";
}

/// <summary>A clinical entry as stored (<c>entry</c>): its FHIR JSON and what indexes it.</summary>
public sealed record EntryRow
{
    public long Id { get; init; }
    public long PatientId { get; init; }
    public string Kind { get; init; } = "";
    public string? Code { get; init; }
    public string? CodeSystem { get; init; }
    public string? EffectiveAt { get; init; }
    public long? DocumentId { get; init; }
    public string Resource { get; init; } = "";
    public string RecordedAt { get; init; } = "";
    public string UpdatedAt { get; init; } = "";
    public string SortKey { get; init; } = "";
}

/// <summary>
/// Which documents a caller may see in a dossier they may read (decided by the API's access policy):
/// deleted ones never; masked ones when <see cref="IncludeMasked"/>, or those <see cref="MaskedAuthorRpps"/> wrote;
/// for the patient (<see cref="PatientView"/>), hidden ones once unhidden, stored before <see cref="HiddenStoredBefore"/>,
/// or past their own <c>hidden_until</c>.
/// </summary>
public sealed record CallerView
{
    public bool IncludeMasked { get; init; }
    public string? MaskedAuthorRpps { get; init; }
    public bool PatientView { get; init; }
    public DateTimeOffset HiddenStoredBefore { get; init; }
    public DateTimeOffset Now { get; init; }
}

/// <summary>A code to match, with the spellings of its system that count (none: any system).</summary>
public sealed record CodeMatch(string Code, IReadOnlyList<string>? Systems = null);

public enum TimeComparison { Before, NotAfter, After, NotBefore }

/// <summary>One side of a time range: the column compared with an instant.</summary>
public sealed record TimeBound(TimeComparison Comparison, DateTimeOffset Value)
{
    public bool IsLower => Comparison is TimeComparison.After or TimeComparison.NotBefore;
}

/// <summary>
/// A document search. Each list of groups is one parameter given several times (ANDed); the values
/// inside a group are alternatives (ORed), as FHIR's comma.
/// </summary>
public sealed record DocumentFilter
{
    public const string MaskedLabel = "MASQUE_PS";
    public const string HiddenFromPatientLabel = "INVISIBLE_PATIENT";

    public long PatientId { get; init; }
    public IReadOnlyList<string> Statuses { get; init; } = [DocumentStatuses.Current];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Types { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Categories { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Formats { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Facilities { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Settings { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Events { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> UniqueIds { get; init; } = [];
    /// <summary>Confidentiality codes, or <see cref="MaskedLabel"/> / <see cref="HiddenFromPatientLabel"/>.</summary>
    public IReadOnlyList<IReadOnlyList<string>> SecurityLabels { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<string>> AuthorGiven { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<string>> AuthorFamily { get; init; } = [];
    /// <summary>Documents that replace, or were replaced by, one of these documents.</summary>
    public IReadOnlyList<IReadOnlyList<long>> RelatedTo { get; init; } = [];
    /// <summary>On the sort key: the creation time, else the storage time.</summary>
    public IReadOnlyList<TimeBound> Date { get; init; } = [];
    public IReadOnlyList<TimeBound> Creation { get; init; } = [];
    /// <summary>Overlap with the service period.</summary>
    public IReadOnlyList<TimeBound> Period { get; init; } = [];
}

/// <summary>An entry search: kinds (FHIR resource types), codes, and bounds on the effective time (else the recording time).</summary>
public sealed record EntryFilter
{
    public long PatientId { get; init; }
    public IReadOnlyList<string> Kinds { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<CodeMatch>> Codes { get; init; } = [];
    public IReadOnlyList<TimeBound> Date { get; init; } = [];
}

/// <summary>Where a page continues: the last row's sort key and id.</summary>
public sealed record PageKey(string SortKey, long Id);

/// <summary>A page to read: its size, the order, and where the previous page ended.</summary>
public sealed record PageRequest(int Limit, bool Ascending = false, PageKey? After = null);

/// <summary>A page of rows, and where the next one starts (null on the last page).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, PageKey? Next);
