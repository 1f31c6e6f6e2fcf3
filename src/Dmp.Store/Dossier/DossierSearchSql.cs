using System.Globalization;
using System.Text;
using Dapper;
using Dmp.Model;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// The SQL of the dossier API's searches: a filter and what the caller may see (<see cref="CallerView"/>) become one
/// keyset-paged statement over <c>document</c> or <c>entry</c>, its parameters numbered as clauses are added.
/// </summary>
internal sealed class DossierSearchSql(SqlDialect connections)
{
    private readonly SqlDialect _connections = connections;

    /// <summary>The page's row limit in the dialect (a parameter: one text whatever the page size).</summary>
    private readonly string _limitClause = connections.Limit("@Limit");

    private const string DocumentSortKey = "COALESCE(d.created_at, d.stored_at)";
    private const string EntrySortKey = "COALESCE(e.effective_at, e.recorded_at)";

    public const string DocumentColumns =
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

    public const string EntryColumns =
        """
        e.id AS Id, e.public_id AS PublicId, e.patient_id AS PatientId, e.kind AS Kind, e.code AS Code, e.code_system AS CodeSystem,
        e.effective_at AS EffectiveAt, e.document_id AS DocumentId, e.resource AS Resource, e.recorded_at AS RecordedAt,
        e.updated_at AS UpdatedAt, COALESCE(e.effective_at, e.recorded_at) AS SortKey
        """;

    /// <summary>The SQL of <see cref="DossierQueries.SearchDocumentsAsync"/>.</summary>
    public (string Sql, DynamicParameters Parameters) DocumentSearch(DocumentFilter filter, CallerView visibility, PageRequest page)
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
                    case VisibilityCodes.MaskedToProfessionals:
                        any.Add($"d.masked = @{names.Add(parameters, true)}");
                        break;
                    case VisibilityCodes.HiddenFromPatient:
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

    /// <summary>The SQL of <see cref="DossierQueries.SearchEntriesAsync"/>.</summary>
    public (string Sql, DynamicParameters Parameters) EntrySearch(EntryFilter filter, CallerView visibility, PageRequest page)
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

    /// <summary>
    /// The SQL of <see cref="DossierQueries.GetEntryAsync"/>: the entry of this kind with this public id, when the
    /// visibility (if any) lets its document be seen, as <see cref="EntrySearch"/> filters it.
    /// </summary>
    public static (string Sql, DynamicParameters Parameters) EntryRead(string kind, string publicId, CallerView? visibility)
    {
        var sql = new StringBuilder($"SELECT {EntryColumns} FROM entry e LEFT JOIN document d ON d.id = e.document_id WHERE e.public_id = @PublicId AND e.kind = @Kind");
        var parameters = new DynamicParameters();
        parameters.Add("PublicId", publicId);
        parameters.Add("Kind", kind);
        if (visibility is not null)
        {
            var visible = new StringBuilder();
            AppendVisibility(visible, parameters, visibility, "d");
            sql.Append(" AND (e.document_id IS NULL OR (1 = 1").Append(visible).Append("))");
        }

        return (sql.Append(';').ToString(), parameters);
    }

    /// <summary>Keyset paging: after the previous page's last (sort key, id), in the page's order, one row more than asked (to know there is a next page).</summary>
    private void AppendPage(StringBuilder sql, DynamicParameters parameters, string sortKey, string idColumn, PageRequest page)
    {
        var limit = Math.Clamp(page.Limit, 1, DossierQueries.MaxPage);
        var direction = page.Ascending ? "ASC" : "DESC";
        if (page.After is { } after)
        {
            var op = page.Ascending ? ">" : "<";
            sql.Append(CultureInfo.InvariantCulture, $" AND ({sortKey} {op} @AfterKey OR ({sortKey} = @AfterKey AND {idColumn} {op} @AfterId))");
            parameters.Add("AfterKey", after.SortKey);
            parameters.Add("AfterId", after.Id);
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY {sortKey} {direction}, {idColumn} {direction}{_limitClause};");
        parameters.Add("Limit", limit + 1);
    }

    /// <summary>
    /// What the caller may see of the documents aliased <paramref name="alias"/>: never a deleted one;
    /// masked ones only when allowed (or their author); for the patient, hidden ones once unhidden or past their delay.
    /// </summary>
    public static void AppendVisibility(StringBuilder sql, DynamicParameters parameters, CallerView visibility, string alias)
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
