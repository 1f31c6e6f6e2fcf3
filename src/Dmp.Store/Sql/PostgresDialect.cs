using System.Data;
using System.Data.Common;
using Dapper;
using Dmp.Store.Inbox;
using Npgsql;

namespace Dmp.Store.Sql;

/// <summary>PostgreSQL through Npgsql: the scale-out store several gateway instances share.</summary>
internal sealed class PostgresDialect : SqlDialect
{
    /// <summary>The advisory lock key that serialises migrations across instances ("dmpmigr").</summary>
    private const long MigrationLockKey = 0x646d_706d_6967_72;

    /// <summary>Statements Npgsql keeps prepared per connection when the connection string says nothing (its Max Auto Prepare).</summary>
    internal const int AutoPrepared = 128;

    /// <summary>The server setting every store connection gets unless its connection string chooses its own plan_cache_mode.</summary>
    internal const string PlanEachExecution = "-c plan_cache_mode=force_custom_plan";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _leaseConnectionString;

    public PostgresDialect(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new ArgumentException("Dmp:Store:ConnectionString names no PostgreSQL Host.", nameof(connectionString));
        }

        // The inbox and the apply run the same few dozen statements over and over: prepared once per pooled connection
        // instead of parsed and planned each time, unless the connection string sets its own Max Auto Prepare.
        if (!Names(connectionString, "maxautoprepare"))
        {
            builder.MaxAutoPrepare = AutoPrepared;
        }

        // Prepared statements would otherwise get, after five executions, a generic plan that PostgreSQL keeps until the
        // table's statistics change: made while a table was small (a new database, before autovacuum's first ANALYZE), it
        // stays a sequential scan as the table grows — the inbox's identity look-up went from 0.006 ms to 2.3 ms within
        // 20 s of traffic, capping the writer at ~300 frames/s (docs/BENCHMARKS.md, issue 22). Each execution is planned
        // with its parameters and the table's current size instead; parsing is still saved. Not when the connection
        // string's Options choose a plan_cache_mode of their own.
        if (builder.Options?.Contains("plan_cache_mode", StringComparison.OrdinalIgnoreCase) != true)
        {
            builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? PlanEachExecution : $"{builder.Options} {PlanEachExecution}";
        }

        _dataSource = NpgsqlDataSource.Create(builder);

        // Sender leases are session advisory locks: their connection is never pooled, so closing it
        // (or the process dying) ends the session and frees every lease it held.
        var leases = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            Pooling = false,
            ApplicationName = "dmp-ingest sender leases",
            KeepAlive = 10,
        };
        _leaseConnectionString = leases.ConnectionString;
    }

    public override StoreProvider Provider => StoreProvider.Postgres;

    /// <summary>True when the connection string sets <paramref name="key"/> (compared without spaces or case), whatever its value.</summary>
    internal static bool Names(string connectionString, string key)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (string name in given.Keys)
        {
            if (string.Equals(name.Replace(" ", "", StringComparison.Ordinal), key, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // Each statement of an applied message is a network round trip on PostgreSQL: 32 messages' applies inside the inbox
    // writer's transaction held arriving frames' ACKs for ~100 ms (issue 22, docs/BENCHMARKS.md).
    internal override bool SeparateApplyTransactions => true;

    internal override string MigrationFolder => "Postgres";

    protected override ValueTask DisposeCoreAsync() => _dataSource.DisposeAsync();

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    internal override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

    internal override async Task DeferCommitSyncAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        // For this transaction only; the WAL writer flushes it within three wal_writer_delay at most, and any synced
        // commit after it flushes the log up to itself, this commit included.
        await connection.ExecuteAsync(new CommandDefinition(
            "SET LOCAL synchronous_commit TO OFF;", transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);

    internal override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@Key);", new { Key = MigrationLockKey }, transaction, cancellationToken: cancellationToken))
            .ConfigureAwait(false);

    internal override async Task<string> EnsureDurableAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var fsync = await connection.ExecuteScalarAsync<string>(new CommandDefinition("SHOW fsync;", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var synchronousCommit = await connection.ExecuteScalarAsync<string>(new CommandDefinition("SHOW synchronous_commit;", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var description = $"fsync={fsync};synchronous_commit={synchronousCommit}";
        if (!string.Equals(fsync, "on", StringComparison.OrdinalIgnoreCase) || string.Equals(synchronousCommit, "off", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"The PostgreSQL inbox is not durable ({description}): turn fsync on and synchronous_commit on (or local/remote_write) for the gateway's role.");
        }

        return description;
    }

    // 40P01 deadlock_detected, 40001 serialization_failure: two instances' batches crossed.
    internal override WriteConflict Classify(Exception exception) => exception switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } => WriteConflict.DuplicateKey,
        PostgresException { SqlState: "40P01" or "40001" } => WriteConflict.Transient,
        _ => WriteConflict.None,
    };

    private protected override string LockRowsSkippingLocked => " FOR UPDATE SKIP LOCKED";

    internal override SenderLeases CreateSenderLeases() => new PostgresSenderLeases(_leaseConnectionString);

    internal override string InList(string column, string parameter) => $"{column} = ANY(@{parameter})";

    // A new frame took four statements, each a round trip and an execution on the server: a group's look-ups now take one
    // statement, each new frame one more (issue 22, docs/BENCHMARKS.md). @Senders, @ControlIds, @Shas are the group's
    // frames in order; I is the position (1-based), then any id with the control id, then the stored row from Id on.
    internal override string FrameGroupLookupsSql =>
        """
        SELECT f.i AS I,
               CASE WHEN f.control_id = '' THEN NULL
                    ELSE (SELECT p.id FROM inbound_message p WHERE p.sender = f.sender AND p.control_id = f.control_id LIMIT 1) END AS AnyId,
               m.id AS Id, m.status AS Status, m.ack AS Ack, m.ack_code AS AckCode, m.receipts AS Receipts, m.warnings AS Warnings
        FROM unnest(@Senders::text[], @ControlIds::text[], @Shas::bytea[]) WITH ORDINALITY AS f (sender, control_id, sha256, i)
        LEFT JOIN inbound_message m ON m.sender = f.sender AND m.control_id = f.control_id AND m.sha256 = f.sha256;
        """;

    internal override string InsertInboundMessageWithHistorySql => _insertWithHistory ??=
        "WITH m AS (" + InsertInboundMessageSql.TrimEnd(';') + ")\n"
        + "INSERT INTO inbound_message_history (message_id, at, status, detail) SELECT id, @ReceivedAt, @Status, @Detail FROM m RETURNING message_id;";

    private string? _insertWithHistory;
}
