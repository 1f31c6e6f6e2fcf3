using System.Data.Common;
using Dmp.Store.Inbox;

namespace Dmp.Store.Sql;

/// <summary>
/// Opens configured connections to the store and owns everything that differs between SQL providers:
/// transactions and locks, upserts and <c>RETURNING</c>, paging, duplicate-key and conflict errors,
/// space reclaim, the timestamp encoding. One subclass per provider; the virtual members default to the
/// syntax SQLite and PostgreSQL share, so another provider (SQL Server) is one more subclass that
/// overrides them — the repositories keep writing plain SQL through these members.
/// </summary>
public abstract class SqlDialect : IAsyncDisposable
{
    /// <summary>
    /// Releases what the dialect holds open — PostgreSQL its pool of connections, which otherwise stay open until the
    /// pool prunes them. The store disposes its dialect last.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await DisposeCoreAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>What <see cref="DisposeAsync"/> releases; nothing unless overridden.</summary>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;

    private protected SqlDialect()
    {
    }

    public abstract StoreProvider Provider { get; }

    /// <summary>An open connection with the session settings the store relies on.</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The inbox writer's long-lived connection, which runs the same statements for every frame and
    /// every applied message: where the provider allows, it keeps them compiled.
    /// </summary>
    internal virtual Task<DbConnection> OpenWriterAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    /// <summary>
    /// True when the server runs concurrent write transactions well (row locks, its own commit grouping): the processing
    /// worker's dossier apply then commits on a connection of its own instead of inside the inbox writer's transaction,
    /// where its many round trips would hold back the ACKs of frames arriving meanwhile. False for SQLite (one writer).
    /// </summary>
    internal virtual bool SeparateApplyTransactions => false;

    /// <summary>
    /// True when the inbox writer may commit a chunk of processing outcomes without a sync of its own, provided it runs
    /// another, synced, transaction right after it (SQLite in WAL mode: the log is one file written in order, so the
    /// fsync of the next commit makes every earlier commit durable too, and a crash of the process alone loses nothing
    /// written). Frames never commit that way: their ACK waits for their own synced commit.
    /// </summary>
    internal virtual bool WriterDefersBulkSync => false;

    /// <summary>
    /// Switches the writer's connection between commits that sync (the default) and commits that leave their sync to
    /// the next one (see <see cref="WriterDefersBulkSync"/>); called outside any transaction.
    /// </summary>
    internal virtual Task SetWriterSyncDeferredAsync(DbConnection connection, bool deferred, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>
    /// Inside a processing chunk's own transaction (<see cref="SeparateApplyTransactions"/>): lets its commit return
    /// before the server has flushed it. Every later synced commit — the next frames' — flushes it first, as the log is
    /// written in order; nothing ACKed depends on it (an ACK in Processed mode is recorded by a synced commit after it).
    /// </summary>
    internal virtual Task DeferCommitSyncAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>
    /// Puts a connection whose commits were deferred back to synced commits before it goes back to the pool; when that
    /// fails, keeps the pool from handing its session out again.
    /// </summary>
    internal virtual Task RestoreWriterSyncAsync(DbConnection connection) => Task.CompletedTask;

    /// <summary>The factory for the configured provider; fails clearly for providers not in this build.</summary>
    public static SqlDialect Create(StoreOptions options, string dataDir)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dataDir);
        return options.Provider switch
        {
            StoreProvider.Sqlite => new SqliteDialect(options.ResolveConnectionString(dataDir)),
            StoreProvider.Postgres => new PostgresDialect(options.ResolveConnectionString(dataDir)),
            StoreProvider.SqlServer => new SqlServerDialect(options.ResolveConnectionString(dataDir)),
            _ => throw new NotSupportedException(
                $"Dmp:Store:Provider={options.Provider} is unknown: use Sqlite, Postgres or SqlServer."),
        };
    }

    /// <summary>Folder under <c>Migrations/</c> holding this dialect's scripts.</summary>
    internal abstract string MigrationFolder { get; }

    /// <summary>Starts a write transaction that takes the write lock at once (SQLite: <c>BEGIN IMMEDIATE</c>).</summary>
    internal abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lock that serialises migrations across processes, inside the migration's write
    /// transaction (SQLite: the write lock <c>BEGIN IMMEDIATE</c> already took).
    /// </summary>
    internal virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>
    /// Checks, once per open before the migrations, what the store needs of the server beyond durability
    /// (SQL Server: READ_COMMITTED_SNAPSHOT); throws with the fix when it is missing.
    /// </summary>
    internal virtual Task CheckServerAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// A migration script as the batches to run one after another in its transaction: the whole script, or (SQL Server)
    /// the parts between <c>GO</c> lines, since a batch is compiled before it runs and cannot name a column it adds.
    /// </summary>
    internal virtual IReadOnlyList<string> Batches(string script) => [script];

    /// <summary>The keyword that opens a recursive common table expression (SQL Server has no <c>RECURSIVE</c>).</summary>
    internal virtual string WithRecursive => "WITH RECURSIVE";

    /// <summary>Text expressions joined end to end (NULL when one is NULL): <c>a || b</c>, SQL Server <c>a + b</c>.</summary>
    internal virtual string Concat(params string[] parts) => string.Join(" || ", parts);

    /// <summary>Creates the <c>schema_version</c> table when missing (inside the migration lock); applied_at as every instant is written.</summary>
    internal virtual string CreateSchemaVersionTableSql =>
        """
        CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER NOT NULL PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at TEXT    NOT NULL
        );
        """;

    /// <summary>
    /// Inserts one inbound message, doing nothing on a dedup-key conflict, and returns the new id
    /// (no row when another writer stored the same key first).
    /// </summary>
    internal string InsertInboundMessageSql => _insertInboundMessageSql ??= InsertIgnoringDuplicate(
        "inbound_message",
        """
        channel, sender, control_id, message_type, file_name, remote_endpoint, sha256, length, raw, blob_key,
        truncated, status, warnings, error, received_at, last_received_at, receipts, ack, ack_code, sender_name, trace_id, trace_parent
        """,
        """
        @Channel, @Sender, @ControlId, @MessageType, @FileName, @RemoteEndpoint, @Sha256, @Length, @Raw, @BlobKey,
        @Truncated, @Status, @Warnings, @Error, @ReceivedAt, @ReceivedAt, 1, @Ack, @AckCode, @SenderName, @TraceId, @TraceParent
        """,
        "sender, control_id, sha256",
        returning: "id");

    private string? _insertInboundMessageSql;

    /// <summary>The audit chain's statements in this dialect.</summary>
    internal Audit.AuditStatements AuditStatements => _auditStatements ??= new Audit.AuditStatements(this);

    private Audit.AuditStatements? _auditStatements;

    /// <summary>Any one id of a sender's messages with a control id (only named in a warning): one index seek.</summary>
    internal virtual string AnyIdWithControlIdSql => Writing.GroupCommitWriter.LastIdWithControlIdSql;

    /// <summary>
    /// Where each statement is a network round trip: one statement answering both of a frame's look-ups for a whole group
    /// of frames (see <see cref="Writing.FrameAppend"/>); null where each frame's own look-ups cost no round trip.
    /// </summary>
    internal virtual string? FrameGroupLookupsSql => null;

    /// <summary>
    /// Where each statement is a network round trip: a new message and its first history line in one statement, returning
    /// the message's id (no row when its identity was stored meanwhile); null where the two statements cost no round trip.
    /// </summary>
    internal virtual string? InsertInboundMessageWithHistorySql => null;

    /// <summary>
    /// <c>INSERT INTO table (columns) VALUES (values)</c> that does nothing when a row with the same
    /// <paramref name="conflictColumns"/> (null: any unique key) exists — dedup is a constraint, never a
    /// select then insert — and returns <paramref name="returning"/> of the inserted row: no row when
    /// nothing was inserted.
    /// </summary>
    internal virtual string InsertIgnoringDuplicate(
        string table, string columns, string values, string? conflictColumns = null, string? returning = null) =>
        $"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT"
        + (conflictColumns is null ? "" : $" ({conflictColumns})")
        + " DO NOTHING"
        + (returning is null ? ";" : $" RETURNING {returning};");

    /// <summary>
    /// <c>INSERT INTO table (columns) select</c> that skips each selected row whose unique key
    /// (<paramref name="conflictColumns"/>; null: any) is already held, as <see cref="InsertIgnoringDuplicate"/> does for one row.
    /// </summary>
    internal virtual string InsertSelectIgnoringDuplicate(string table, string columns, string select, string? conflictColumns = null) =>
        $"INSERT INTO {table} ({columns}) {select} ON CONFLICT"
        + (conflictColumns is null ? "" : $" ({conflictColumns})")
        + " DO NOTHING;";

    /// <summary>The dossier's statements in this dialect.</summary>
    internal Dossier.DossierStatements DossierStatements => _dossierStatements ??= new Dossier.DossierStatements(this);

    private Dossier.DossierStatements? _dossierStatements;

    /// <summary><c>INSERT INTO table (columns) VALUES (values)</c> returning <paramref name="returning"/> of the new row.</summary>
    internal virtual string InsertReturning(string table, string columns, string values, string returning) =>
        $"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {returning};";

    /// <summary><c>UPDATE table SET assignments WHERE condition</c> returning <paramref name="returning"/> of each updated row.</summary>
    internal virtual string UpdateReturning(string table, string assignments, string condition, string returning) =>
        $"UPDATE {table} SET {assignments} WHERE {condition} RETURNING {returning};";

    /// <summary>
    /// Keeps the first <paramref name="count"/> rows (a number or a parameter such as <c>@Limit</c>) of a
    /// query: appended after its <c>ORDER BY</c>, which every paged query has so pages are stable.
    /// </summary>
    internal virtual string Limit(string count) => $" LIMIT {count}";

    /// <summary>Checks that a writer connection really commits durably; returns a description for diagnostics.</summary>
    internal abstract Task<string> EnsureDurableAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// What a failed write says about the database, in one domain outcome whatever the provider:
    /// a duplicate key (SQLite 19 with extended code 2067 UNIQUE or 1555 PRIMARY KEY, PostgreSQL 23505 —
    /// another writer stored the same key between a read and a write), a transient conflict that only
    /// says "write it again" (a deadlock between two writers on one database, a serialization failure),
    /// or neither.
    /// </summary>
    internal abstract WriteConflict Classify(Exception exception);

    /// <summary>True when <see cref="Classify"/> says <see cref="WriteConflict.DuplicateKey"/>.</summary>
    internal bool IsUniqueViolation(Exception exception) => Classify(exception) == WriteConflict.DuplicateKey;

    /// <summary>
    /// "column is one of the values of parameter": Dapper expands a list for <c>IN</c> on most
    /// providers, but hands Npgsql the array itself, which PostgreSQL compares with <c>= ANY</c>.
    /// </summary>
    internal virtual string InList(string column, string parameter) => $"{column} IN @{parameter}";

    /// <summary>
    /// A page of rows selected inside a write transaction and locked until its commit, passing over rows
    /// another transaction holds, so two instances never take the same rows (PostgreSQL: <c>FOR UPDATE
    /// SKIP LOCKED</c>). Where the write transaction already excludes every other writer (SQLite:
    /// <c>BEGIN IMMEDIATE</c>) it is a plain page; a dialect whose lock hints sit beside the table
    /// (SQL Server) builds the statement its own way.
    /// </summary>
    internal virtual string SelectPageLockingRows(string columns, string table, string condition, string orderBy, string count) =>
        $"SELECT {columns} FROM {table} WHERE {condition} ORDER BY {orderBy}{Limit(count)}{LockRowsSkippingLocked};";

    /// <summary>The clause that ends <see cref="SelectPageLockingRows"/>: empty, or the provider's row lock.</summary>
    private protected virtual string LockRowsSkippingLocked => "";

    /// <summary>
    /// Gives the space freed by deleted or emptied rows back to the file system where the dialect
    /// needs to be asked (SQLite); elsewhere the server's own vacuum does it and this does nothing.
    /// </summary>
    internal virtual Task<SpaceReclaim> ReclaimSpaceAsync(CancellationToken cancellationToken) =>
        Task.FromResult(SpaceReclaim.None);

    /// <summary>
    /// The leases that let one processing worker at a time take a sender's messages: held in this
    /// process only by default (one gateway per database), across processes where the dialect can.
    /// </summary>
    internal virtual SenderLeases CreateSenderLeases() => new InProcessSenderLeases();
}

/// <summary>What a failed write means for the store, whatever the provider's error code.</summary>
public enum WriteConflict
{
    /// <summary>Not a conflict: a bug or broken infrastructure.</summary>
    None,

    /// <summary>A unique key already holds the value: another writer stored it first.</summary>
    DuplicateKey,

    /// <summary>Two writers' transactions crossed (deadlock, serialization failure): nothing was committed, write it again.</summary>
    Transient,
}

/// <summary>What <see cref="SqlDialect.ReclaimSpaceAsync"/> did.</summary>
/// <param name="BytesReleased">How much smaller the database file became (0 when nothing was asked of it).</param>
/// <param name="Rebuilt">True when the database was rebuilt once (SQLite: VACUUM) to turn incremental vacuum on.</param>
public sealed record SpaceReclaim(long BytesReleased, bool Rebuilt)
{
    public static SpaceReclaim None { get; } = new(0, false);
}
