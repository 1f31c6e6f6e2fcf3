using System.Globalization;
using System.Text;
using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Inbox;

/// <summary>
/// The statements of the operators' search (<see cref="InboxFilter"/>): the listing, the counts per status and the
/// replay selection share one WHERE clause, each filter an index seek (migration 0014) or a range. Static builders,
/// so the T-SQL check builds every variant the store can send.
/// </summary>
internal static class InboxSearchSql
{
    /// <summary>The WHERE clause (starting with <c>WHERE</c>) of a filter, its parameters added to <paramref name="parameters"/>.</summary>
    public static string Where(InboxFilter filter, DynamicParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var sql = new StringBuilder(" WHERE 1 = 1");
        if (filter.Sender is not null)
        {
            sql.Append(" AND sender = @Sender");
            parameters.Add("Sender", filter.Sender);
        }

        if (filter.ControlId is not null)
        {
            sql.Append(" AND control_id = @ControlId");
            parameters.Add("ControlId", filter.ControlId);
        }

        if (filter.Status is not null)
        {
            sql.Append(" AND status = @Status");
            parameters.Add("Status", filter.Status);
        }

        if (filter.Since is { } since)
        {
            sql.Append(" AND received_at >= @Since");
            parameters.Add("Since", StoreTime.Write(since));
        }

        if (filter.Until is { } until)
        {
            sql.Append(" AND received_at < @Until");
            parameters.Add("Until", StoreTime.Write(until));
        }

        if (filter.Type is { } type)
        {
            if (type.Contains('^', StringComparison.Ordinal))
            {
                sql.Append(" AND message_type = @Type");
            }
            else
            {
                // `ADT`: the type alone, or any `ADT^…` (a range on the index: '_' sorts right after '^').
                sql.Append(" AND (message_type = @Type OR (message_type >= @TypeFrom AND message_type < @TypeTo))");
                parameters.Add("TypeFrom", type + "^");
                parameters.Add("TypeTo", type + "_");
            }

            parameters.Add("Type", type);
        }

        if (filter.PatientValue is { } value)
        {
            sql.Append(" AND id IN (").Append(PatientMessages(filter.PatientSystem is not null)).Append(')');
            parameters.Add("PatientValue", value);
            parameters.Add("PatientSystem", filter.PatientSystem);
        }

        if (filter.Document is { } document)
        {
            sql.Append(" AND id IN (").Append(DocumentMessages).Append(')');
            parameters.Add("Document", document);
        }

        return sql.ToString();
    }

    /// <summary>
    /// The ids of the messages about a patient: those that named the identifier; those that named another identifier
    /// of the patient who has it now; those that fed that patient a document or an entry. A merge (A40) moves the merged
    /// patient's identifiers, documents and entries to the survivor, so all of these follow it.
    /// </summary>
    internal static string PatientMessages(bool withSystem)
    {
        var named = withSystem ? "value = @PatientValue AND system = @PatientSystem" : "value = @PatientValue";
        var known = withSystem ? "k.value = @PatientValue AND k.system = @PatientSystem" : "k.value = @PatientValue";
        return
            $"SELECT message_id FROM message_patient WHERE {named}"
            + " UNION SELECT mp.message_id FROM patient_identifier k JOIN patient_identifier o ON o.patient_id = k.patient_id"
            + $" JOIN message_patient mp ON mp.value = o.value AND mp.system = o.system WHERE {known}"
            + " UNION SELECT s.inbound_message_id FROM patient_identifier k JOIN document d ON d.patient_id = k.patient_id"
            + $" JOIN document_source s ON s.document_id = d.id WHERE {known}"
            + " UNION SELECT s.inbound_message_id FROM patient_identifier k JOIN entry e ON e.patient_id = k.patient_id"
            + $" JOIN entry_source s ON s.entry_id = e.id WHERE {known}";
    }

    /// <summary>The ids of the messages that brought a document known by this uniqueId or setId.</summary>
    internal const string DocumentMessages =
        "SELECT s.inbound_message_id FROM document d JOIN document_source s ON s.document_id = d.id WHERE d.unique_id = @Document"
        + " UNION SELECT s.inbound_message_id FROM document d JOIN document_source s ON s.document_id = d.id WHERE d.set_id = @Document";

    /// <summary>A page of the listing, newest first; one row more than asked tells whether another page follows.</summary>
    public static string List(SqlDialect dialect, string where, bool afterCursor) =>
        "SELECT " + InboundMessageRow.SummaryColumns + " FROM inbound_message" + where
        + (afterCursor ? " AND id < @Before" : "") + " ORDER BY id DESC" + dialect.Limit("@Take") + ";";

    /// <summary>Messages per status.</summary>
    public static string Stats(string where) => "SELECT status, COUNT(*) FROM inbound_message" + where + " GROUP BY status;";

    /// <summary>The condition a replay needs besides the filter: a replayable status and raw bytes still kept.</summary>
    public static string Replayable(SqlDialect dialect) =>
        " AND " + dialect.InList("status", "Replayable") + " AND (raw IS NOT NULL OR blob_key IS NOT NULL)";

    /// <summary>How many messages of the selection a replay would take.</summary>
    public static string ReplayCount(SqlDialect dialect, string where) => "SELECT COUNT(*) FROM inbound_message" + where + Replayable(dialect) + ";";

    /// <summary>The ids a replay takes, in arrival order, at most <c>@Take</c>.</summary>
    public static string ReplayIds(SqlDialect dialect, string where) =>
        "SELECT id FROM inbound_message" + where + Replayable(dialect) + " ORDER BY id" + dialect.Limit("@Take") + ";";

    /// <summary>
    /// Message ids per statement of a chunk's outcomes (the rows read before applying, <see cref="ForgetNamedSql"/>):
    /// a chunk's ids fill blocks of this many, the last block repeating its last id, so every chunk size runs one text.
    /// </summary>
    public const int IdsPerStatement = 8;

    /// <summary>The parameters of one block of ids, <c>@I0</c> … <c>@I7</c>.</summary>
    public static readonly string[] IdParameters = Enumerable.Range(0, IdsPerStatement).Select(i => "I" + i.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Clears the identifiers one block of messages named (<see cref="IdParameters"/>).</summary>
    public static readonly string ForgetNamedSql =
        "DELETE FROM message_patient WHERE message_id IN (" + string.Join(", ", IdParameters.Select(p => "@" + p)) + ");";

    /// <summary>Rows per insert of the identifiers messages named, largest first: any count is written with these three texts.</summary>
    public static readonly int[] NamedRowBlocks = [16, 4, 1];

    /// <summary>Row i's parameters in <see cref="InsertNamedSql"/>: value, system, message id.</summary>
    public static readonly (string Value, string System, string MessageId)[] NamedParameters = Enumerable.Range(0, NamedRowBlocks[0])
        .Select(i => i.ToString(CultureInfo.InvariantCulture))
        .Select(i => ("V" + i, "S" + i, "M" + i))
        .ToArray();

    private static readonly string[] InsertNamed = NamedRowBlocks
        .Select(n => "INSERT INTO message_patient (value, system, message_id) VALUES "
            + string.Join(", ", NamedParameters.Take(n).Select(p => $"(@{p.Value}, @{p.System}, @{p.MessageId})")) + ";")
        .ToArray();

    /// <summary>Writes <paramref name="rows"/> (one of <see cref="NamedRowBlocks"/>) identifiers messages named, after <see cref="ForgetNamedSql"/> cleared theirs.</summary>
    public static string InsertNamedSql(int rows) => InsertNamed[Array.IndexOf(NamedRowBlocks, rows)];
}
