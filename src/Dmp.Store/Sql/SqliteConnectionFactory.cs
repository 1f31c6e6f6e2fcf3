using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Dmp.Store.Sql;

/// <summary>SQLite in WAL mode with full fsync on commit: the embedded default.</summary>
internal sealed class SqliteConnectionFactory : StoreConnectionFactory
{
    // journal_mode=WAL persists in the file; the others are per connection, so every open sets them.
    private const string SessionPragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";

    private readonly string _connectionString;

    public SqliteConnectionFactory(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("Dmp:Store:ConnectionString names no SQLite Data Source.", nameof(connectionString));
        }

        if (builder.DataSource != ":memory:" && builder.Mode != SqliteOpenMode.Memory)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
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
            await connection.ExecuteAsync(new CommandDefinition(SessionPragmas, cancellationToken: cancellationToken))
                .ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // Microsoft.Data.Sqlite issues BEGIN IMMEDIATE unless deferred is asked for.
        await ((SqliteConnection)connection).BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    internal override string CreateSchemaVersionTableSql =>
        """
        CREATE TABLE IF NOT EXISTS schema_version (
            version    INTEGER NOT NULL PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at TEXT    NOT NULL
        );
        """;

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

    internal override bool IsUniqueViolation(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };

    // Fixed-width UTC text sorts like the instant it names, so range filters can compare strings.
    internal override object WriteTime(DateTimeOffset value) => StoreTime.Write(value);
}
