using System.Data.Common;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Dmp.Store.Sql;

/// <summary>SQLite in WAL mode with full fsync on commit: the embedded default.</summary>
internal sealed class SqliteDialect : SqlDialect
{
    // journal_mode=WAL persists in the file; the others are per connection, so every open sets them.
    // auto_vacuum=INCREMENTAL comes first: it takes effect only while the file has no table yet, so the
    // first open of a new database file (before migrations) creates it able to give freed pages back to
    // the file system (retention's PRAGMA incremental_vacuum). On an existing file it changes nothing
    // until a VACUUM (see ReclaimSpaceAsync).
    private const string SessionPragmas =
        "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";

    /// <summary>Pages freed per <c>incremental_vacuum</c> step: each step holds the write lock briefly.</summary>
    private const int VacuumStepPages = 2048;

    // Microsoft.Data.Sqlite pools connections, and a pooled connection keeps its native handle with the session settings
    // above, so they run once per native connection. Not on every open: on an existing database `auto_vacuum=INCREMENTAL`
    // rewrites the header's incremental-vacuum flag, a write transaction with its own fsync, which made every read (three
    // per dossier search) a commit waiting for the write lock (docs/BENCHMARKS.md, 2026-11-30).
    private static readonly ConditionalWeakTable<sqlite3, object> Configured = new();
    private static readonly object Applied = new();

    private readonly string _connectionString;

    public SqliteDialect(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("Dmp:Store:ConnectionString names no SQLite Data Source.", nameof(connectionString));
        }

        if (builder.DataSource != ":memory:" && builder.Mode != SqliteOpenMode.Memory && !builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            var file = Path.GetFullPath(builder.DataSource);
            var folder = Path.GetDirectoryName(file);
            if (!string.IsNullOrEmpty(folder))
            {
                PrivateFiles.CreateFolder(folder);
            }

            // SQLite would create the database 0644 and give its -wal and -shm files the same mode: an empty file made
            // 0600 first is a valid empty database, and the files SQLite adds beside it copy its mode.
            if (builder.Mode is SqliteOpenMode.ReadWriteCreate)
            {
                PrivateFiles.CreateEmptyFile(file);
            }
        }

        _connectionString = builder.ToString();
    }

    public override StoreProvider Provider => StoreProvider.Sqlite;

    internal override string MigrationFolder => "Sqlite";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var handle = connection.Handle;
            if (handle is null || !Configured.TryGetValue(handle, out _))
            {
                await connection.ExecuteAsync(new CommandDefinition(SessionPragmas, cancellationToken: cancellationToken))
                    .ConfigureAwait(false);
                if (handle is not null)
                    Configured.AddOrUpdate(handle, Applied);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override async Task<DbConnection> OpenWriterAsync(CancellationToken cancellationToken) =>
        new PreparedSqliteConnection((SqliteConnection)await OpenAsync(cancellationToken).ConfigureAwait(false));

    internal override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var sqlite = connection as SqliteConnection ?? ((PreparedSqliteConnection)connection).Inner;
        // Microsoft.Data.Sqlite issues BEGIN IMMEDIATE unless deferred is asked for.
        return await sqlite.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
    }

    internal override bool WriterDefersBulkSync => true;

    internal override async Task SetWriterSyncDeferredAsync(DbConnection connection, bool deferred, CancellationToken cancellationToken) =>
        // NORMAL in WAL mode: the commit is in the log file but not synced; FULL: synced at commit. SQLite refuses
        // the switch inside a transaction, so the writer makes it before BEGIN.
        await connection.ExecuteAsync(new CommandDefinition(
            deferred ? "PRAGMA synchronous=NORMAL;" : "PRAGMA synchronous=FULL;", cancellationToken: cancellationToken)).ConfigureAwait(false);

    internal override async Task RestoreWriterSyncAsync(DbConnection connection)
    {
        try
        {
            await SetWriterSyncDeferredAsync(connection, deferred: false, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a broken connection: its pooled session must not be reused with NORMAL
        catch (Exception)
#pragma warning restore CA1031
        {
            // The session pragmas run once per native connection (see Configured): a pooled one left at NORMAL would
            // give its next user unsynced commits. Clearing the pool closes it instead of pooling it.
            SqliteConnection.ClearPool(connection as SqliteConnection ?? ((PreparedSqliteConnection)connection).Inner);
        }
    }

    internal override async Task<string> EnsureDurableAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var journalMode = await connection.ExecuteScalarAsync<string>(
            new CommandDefinition("PRAGMA journal_mode;", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var synchronous = await connection.ExecuteScalarAsync<long>(
            new CommandDefinition("PRAGMA synchronous;", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var description = $"journal_mode={journalMode};synchronous={synchronous}";
        if (!string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase) || synchronous < 2)
        {
            throw new InvalidOperationException(
                $"The SQLite inbox is not durable ({description}): use a file database (Dmp:Store:ConnectionString) on a local disk.");
        }

        return description;
    }

    internal override async Task<SpaceReclaim> ReclaimSpaceAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var before = await SizeAsync(connection, cancellationToken).ConfigureAwait(false);
            var mode = await connection.ExecuteScalarAsync<long>(
                new CommandDefinition("PRAGMA auto_vacuum;", cancellationToken: cancellationToken)).ConfigureAwait(false);
            var rebuilt = false;
            if (mode == 0)
            {
                // A file created before the store set auto_vacuum at creation: one VACUUM rewrites it with
                // incremental vacuum on (it needs free disk about the database's size and holds the write
                // lock while it runs — once; later purges only run the incremental steps below).
                await connection.ExecuteAsync(new CommandDefinition(
                    "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;", cancellationToken: cancellationToken)).ConfigureAwait(false);
                rebuilt = true;
            }
            else if (mode == 2)
            {
                var free = await FreePagesAsync(connection, cancellationToken).ConfigureAwait(false);
                while (free > 0)
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        $"PRAGMA incremental_vacuum({VacuumStepPages});", cancellationToken: cancellationToken)).ConfigureAwait(false);
                    var left = await FreePagesAsync(connection, cancellationToken).ConfigureAwait(false);
                    if (left >= free)
                    {
                        break; // no progress: leave the rest to the next run
                    }

                    free = left;
                }
            }

            // In WAL mode the file shrinks when the checkpoint copies the vacuum back; passive: never wait for readers.
            await connection.ExecuteAsync(new CommandDefinition(
                "PRAGMA wal_checkpoint(PASSIVE);", cancellationToken: cancellationToken)).ConfigureAwait(false);
            var after = await SizeAsync(connection, cancellationToken).ConfigureAwait(false);
            return new SpaceReclaim(Math.Max(0, before - after), rebuilt);
        }
    }

    private static Task<long> FreePagesAsync(DbConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition("PRAGMA freelist_count;", cancellationToken: cancellationToken));

    private static async Task<long> SizeAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var pages = await connection.ExecuteScalarAsync<long>(
            new CommandDefinition("PRAGMA page_count;", cancellationToken: cancellationToken)).ConfigureAwait(false);
        var pageSize = await connection.ExecuteScalarAsync<long>(
            new CommandDefinition("PRAGMA page_size;", cancellationToken: cancellationToken)).ConfigureAwait(false);
        return pages * pageSize;
    }

    // BEGIN IMMEDIATE makes the single writer exclusive: two transactions never cross, so nothing is transient.
    internal override WriteConflict Classify(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 }
            ? WriteConflict.DuplicateKey
            : WriteConflict.None;
}
