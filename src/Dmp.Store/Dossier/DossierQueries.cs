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

    private readonly SqlDialect _connections;
    private readonly DossierSearchSql _search;

    public DossierQueries(SqlDialect connections)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
        _search = new DossierSearchSql(connections);
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
                _connections.DossierStatements.SurvivorOfId, new { Id = patient.Id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
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
                    ? _connections.DossierStatements.FirstPatientWithIns
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
        var sql = new StringBuilder($"SELECT {DossierSearchSql.DocumentColumns} FROM document d WHERE d.id = @Id");
        var parameters = new DynamicParameters();
        parameters.Add("Id", id);
        if (visibility is not null)
            DossierSearchSql.AppendVisibility(sql, parameters, visibility, "d");
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.QuerySingleOrDefaultAsync<DocumentRow>(new CommandDefinition(
                sql.Append(';').ToString(), parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The entry of this kind served as <paramref name="publicId"/>, when <paramref name="visibility"/> lets it be seen
    /// (an entry read from a document the caller may not see is not); any such entry when null.
    /// </summary>
    public async Task<EntryRow?> GetEntryAsync(string kind, string publicId, CallerView? visibility, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(publicId);
        var (sql, parameters) = DossierSearchSql.EntryRead(kind, publicId, visibility);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.QuerySingleOrDefaultAsync<EntryRow>(new CommandDefinition(
                sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
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

    /// <summary>One page of a dossier's entries of the given kinds; entries from a document the caller may not see are left out.</summary>
    public async Task<Page<EntryRow>> SearchEntriesAsync(
        EntryFilter filter, CallerView visibility, PageRequest page, CancellationToken cancellationToken)
    {
        var (sql, parameters) = EntrySearch(filter, visibility, page);
        var rows = await QueryAsync<EntryRow>(sql, parameters, cancellationToken).ConfigureAwait(false);
        return ToPage(rows, page.Limit, r => new PageKey(r.SortKey, r.Id));
    }

    /// <summary>The SQL of <see cref="SearchDocumentsAsync"/> (query-plan tests read it).</summary>
    internal (string Sql, DynamicParameters Parameters) DocumentSearch(DocumentFilter filter, CallerView visibility, PageRequest page) =>
        _search.DocumentSearch(filter, visibility, page);

    /// <summary>The SQL of <see cref="SearchEntriesAsync"/> (query-plan tests read it).</summary>
    internal (string Sql, DynamicParameters Parameters) EntrySearch(EntryFilter filter, CallerView visibility, PageRequest page) =>
        _search.EntrySearch(filter, visibility, page);

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
}
