using System.Data;
using System.Data.Common;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Dmp.Store.Inbox;
using Microsoft.Data.SqlClient;

namespace Dmp.Store.Sql;

/// <summary>
/// SQL Server (2022 syntax) through Microsoft.Data.SqlClient: the store several gateway instances share, like PostgreSQL.
/// Inserts that ignore a duplicate are <c>MERGE … WITH (HOLDLOCK)</c> (the key-range lock makes the check and the insert
/// one step), returned ids come from <c>OUTPUT INSERTED</c>, row limits are <c>OFFSET 0 ROWS FETCH NEXT n ROWS ONLY</c>,
/// locked pages are <c>WITH (UPDLOCK, ROWLOCK, READPAST)</c>, migrations and sender leases are <c>sp_getapplock</c>.
/// The database must run with READ_COMMITTED_SNAPSHOT ON (readers see the last committed rows and never wait for a
/// writer, as on PostgreSQL): the store refuses to open otherwise.
/// </summary>
internal sealed partial class SqlServerDialect : SqlDialect
{
    /// <summary>The application lock that serialises migrations across instances (owned by the migration's transaction).</summary>
    internal const string MigrationLock = "dmp-ingest/migrations";

    /// <summary>
    /// The unique keys of the tables an insert-ignoring-duplicate names without its conflict columns ("any unique key"),
    /// as the migrations create them (a test checks this list against the T-SQL schema).
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string[][]> UniqueKeys = new Dictionary<string, string[][]>(StringComparer.Ordinal)
    {
        ["document"] = [["unique_id"], ["set_id", "version"]],
        ["document_source"] = [["document_id", "inbound_message_id"]],
        ["entry_source"] = [["entry_id", "inbound_message_id"]],
        ["dossier"] = [["patient_id"]],
        ["dossier_facility_choice"] = [["patient_id", "organisation"]],
        ["dossier_authorization"] = [["patient_id", "rpps"]],
        ["patient"] = [["ins_system", "ins"]],
        ["patient_identifier"] = [["system", "value"]],
        ["patient_merge"] = [["merged_patient_id", "survivor_patient_id"]],
        ["audit_head"] = [["chain"]],
        ["inbound_message"] = [["sender", "control_id", "sha256"]],
        ["entry"] = [["patient_id", "kind", "fingerprint"], ["public_id"]],
    };

    private readonly string _connectionString;
    private readonly string _leaseConnectionString;

    public SqlServerDialect(string connectionString)
    {
        SqlConnectionStringBuilder builder;
        try
        {
            builder = new SqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"Dmp:Store:ConnectionString is not a SQL Server connection string: {e.Message}", nameof(connectionString), e);
        }

        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("Dmp:Store:ConnectionString names no SQL Server (Server=host,port).", nameof(connectionString));
        }

        if (string.IsNullOrEmpty(builder.ApplicationName) || builder.ApplicationName == new SqlConnectionStringBuilder().ApplicationName)
        {
            builder.ApplicationName = "dmp-ingest";
        }

        _connectionString = builder.ConnectionString;

        // Sender leases are session application locks: their connection is never pooled and never silently reconnected
        // (a new session would hold none of the locks), so closing it or the process dying frees every lease it held.
        var leases = new SqlConnectionStringBuilder(builder.ConnectionString)
        {
            Pooling = false,
            ConnectRetryCount = 0,
            ApplicationName = "dmp-ingest sender leases",
        };
        _leaseConnectionString = leases.ConnectionString;
    }

    public override StoreProvider Provider => StoreProvider.SqlServer;

    internal override string MigrationFolder => "SqlServer";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

    /// <summary>Takes the migration lock for the transaction (waits up to a minute for another instance's migration).</summary>
    internal const string LockForMigrationSql =
        """
        DECLARE @result INT;
        EXEC @result = sp_getapplock @Resource = @Resource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 60000;
        IF @result < 0 THROW 50001, N'dmp-ingest: the migration lock was not granted within a minute', 1;
        """;

    internal override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            LockForMigrationSql, new { Resource = MigrationLock }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);

    internal override string CreateSchemaVersionTableSql =>
        """
        IF OBJECT_ID(N'schema_version', N'U') IS NULL
            CREATE TABLE schema_version (
                version    INT           NOT NULL CONSTRAINT pk_schema_version PRIMARY KEY,
                name       NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
                applied_at NVARCHAR(40)  COLLATE Latin1_General_100_BIN2 NOT NULL
            );
        """;

    /// <summary>What the database runs with: its name, READ_COMMITTED_SNAPSHOT and delayed durability.</summary>
    internal const string DatabaseSettingsSql =
        "SELECT DB_NAME() AS Name, is_read_committed_snapshot_on AS ReadCommittedSnapshot, delayed_durability_desc AS DelayedDurability FROM sys.databases WHERE database_id = DB_ID();";

    internal override async Task CheckServerAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var settings = await connection.QuerySingleAsync<DatabaseSettings>(new CommandDefinition(
            DatabaseSettingsSql, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (!settings.ReadCommittedSnapshot)
        {
            throw new InvalidOperationException(
                $"the SQL Server database {settings.Name} runs with READ_COMMITTED_SNAPSHOT OFF, so readers wait for writers and the store's reads "
                + $"can deadlock with its writes: run ALTER DATABASE [{settings.Name}] SET READ_COMMITTED_SNAPSHOT ON WITH ROLLBACK IMMEDIATE; (docs/OPERATIONS.md, SQL Server)");
        }
    }

    internal override async Task<string> EnsureDurableAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var settings = await connection.QuerySingleAsync<DatabaseSettings>(new CommandDefinition(
            DatabaseSettingsSql, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var description = $"read_committed_snapshot={(settings.ReadCommittedSnapshot ? "on" : "off")};delayed_durability={settings.DelayedDurability}";
        if (string.Equals(settings.DelayedDurability, "FORCED", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"The SQL Server inbox is not durable ({description}): run ALTER DATABASE [{settings.Name}] SET DELAYED_DURABILITY = DISABLED.");
        }

        return description;
    }

    // 2601 duplicate key in a unique index, 2627 in a unique or primary key constraint; 1205 deadlock victim,
    // 3960 snapshot update conflict: two instances' transactions crossed, nothing was committed.
    internal override WriteConflict Classify(Exception exception)
    {
        if (exception is not SqlException sql)
        {
            return WriteConflict.None;
        }

        foreach (SqlError error in sql.Errors)
        {
            if (error.Number is 2601 or 2627)
                return WriteConflict.DuplicateKey;
            if (error.Number is 1205 or 3960)
                return WriteConflict.Transient;
        }

        return WriteConflict.None;
    }

    internal override string InsertIgnoringDuplicate(
        string table, string columns, string values, string? conflictColumns = null, string? returning = null) =>
        MergeInsert(table, SplitList(columns), $"(VALUES ({Flatten(values)}))", conflictColumns, returning);

    internal override string InsertSelectIgnoringDuplicate(string table, string columns, string select, string? conflictColumns = null) =>
        MergeInsert(table, SplitList(columns), $"({Flatten(select)})", conflictColumns, returning: null);

    /// <summary>
    /// <c>MERGE … WITH (HOLDLOCK) … WHEN NOT MATCHED THEN INSERT</c>: the match on the unique key and the insert hold a
    /// key-range lock together, so a concurrent writer of the same key waits and then finds the row (no duplicate-key
    /// error for the ignored key; another unique key still raises 2601/2627, as ON CONFLICT (columns) does elsewhere).
    /// </summary>
    private static string MergeInsert(string table, IReadOnlyList<string> columns, string source, string? conflictColumns, string? returning)
    {
        var keys = conflictColumns is not null
            ? [SplitList(conflictColumns).ToArray()]
            : UniqueKeys.TryGetValue(table, out var known)
                ? known
                : throw new InvalidOperationException($"SqlServerDialect: no unique key is known for table {table}; add it to UniqueKeys.");
        foreach (var key in keys.SelectMany(k => k))
        {
            if (!columns.Contains(key, StringComparer.Ordinal))
                throw new InvalidOperationException($"SqlServerDialect: the insert into {table} does not set its key column {key}.");
        }

        var on = string.Join(" OR ", keys.Select(k => "(" + string.Join(" AND ", k.Select(c => $"t.{c} = s.{c}")) + ")"));
        var list = string.Join(", ", columns);
        var sql = new StringBuilder()
            .Append("MERGE INTO ").Append(table).Append(" WITH (HOLDLOCK) AS t USING ").Append(source).Append(" AS s (").Append(list).Append(')')
            .Append(" ON ").Append(on)
            .Append(" WHEN NOT MATCHED THEN INSERT (").Append(list).Append(") VALUES (")
            .AppendJoin(", ", columns.Select(c => "s." + c)).Append(')');
        if (returning is not null)
        {
            sql.Append(" OUTPUT ").Append(Inserted(returning));
        }

        return sql.Append(';').ToString();
    }

    internal override string InsertReturning(string table, string columns, string values, string returning) =>
        $"INSERT INTO {table} ({Flatten(columns)}) OUTPUT {Inserted(returning)} VALUES ({Flatten(values)});";

    internal override string UpdateReturning(string table, string assignments, string condition, string returning) =>
        $"UPDATE {table} SET {assignments} OUTPUT {Inserted(returning)} WHERE {condition};";

    // Every paged statement has its ORDER BY, which OFFSET … FETCH needs.
    internal override string Limit(string count) => $" OFFSET 0 ROWS FETCH NEXT {count} ROWS ONLY";

    internal override string AnyIdWithControlIdSql =>
        "SELECT TOP (1) id FROM inbound_message WHERE sender = @Sender AND control_id = @ControlId;";

    // UPDLOCK holds the rows until the commit, READPAST passes over rows another transaction holds (SKIP LOCKED).
    internal override string SelectPageLockingRows(string columns, string table, string condition, string orderBy, string count) =>
        $"SELECT {columns} FROM {table} WITH (UPDLOCK, ROWLOCK, READPAST) WHERE {condition} ORDER BY {orderBy}{Limit(count)};";

    internal override string WithRecursive => "WITH";

    internal override string Concat(params string[] parts) => string.Join(" + ", parts);

    internal override IReadOnlyList<string> Batches(string script) =>
        [.. BatchSeparator().Split(script).Where(b => !string.IsNullOrWhiteSpace(b))];

    internal override SenderLeases CreateSenderLeases() => new SqlServerSenderLeases(_leaseConnectionString);

    /// <summary>The columns of the row an INSERT, UPDATE or MERGE wrote: <c>id</c> → <c>INSERTED.id</c>.</summary>
    private static string Inserted(string returning) => string.Join(", ", SplitList(returning).Select(c => "INSERTED." + c));

    private static string Flatten(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));

    /// <summary>A comma-separated list split at its top level (not inside parentheses or quotes), each item trimmed.</summary>
    internal static IReadOnlyList<string> SplitList(string list)
    {
        var items = new List<string>();
        var depth = 0;
        var quoted = false;
        var start = 0;
        for (var i = 0; i < list.Length; i++)
        {
            var c = list[i];
            if (c == '\'')
                quoted = !quoted;
            else if (!quoted && c == '(')
                depth++;
            else if (!quoted && c == ')')
                depth--;
            else if (!quoted && depth == 0 && c == ',')
            {
                items.Add(list[start..i].Trim());
                start = i + 1;
            }
        }

        items.Add(list[start..].Trim());
        return items;
    }

    [GeneratedRegex(@"^[ \t]*GO[ \t]*;?[ \t]*\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex BatchSeparator();

    private sealed record DatabaseSettings
    {
        public string Name { get; init; } = "";
        public bool ReadCommittedSnapshot { get; init; }
        public string DelayedDurability { get; init; } = "";
    }
}
