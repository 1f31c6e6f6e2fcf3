using System.Buffers.Binary;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace Dmp.Store.Sql;

/// <summary>Sender leases as PostgreSQL session-level advisory locks (the bookkeeping in <see cref="SessionLockSenderLeases"/>).</summary>
internal sealed class PostgresSenderLeases(string connectionString) : SessionLockSenderLeases
{
    /// <summary>The advisory lock key of a sender: a stable 64-bit hash of its name (the same in every process and version).</summary>
    internal static long KeyOf(string sender) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes("dmp-ingest/sender-lease\n" + sender)));

    protected override string DatabaseName => "PostgreSQL";

    protected override DbConnection CreateConnection() => new NpgsqlConnection(connectionString);

    protected override Task<bool> TryLockAsync(DbConnection connection, string sender, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT pg_try_advisory_lock(@Key);", new { Key = KeyOf(sender) }, cancellationToken: cancellationToken));

    protected override Task UnlockAsync(DbConnection connection, string sender) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_advisory_unlock(@Key);", new { Key = KeyOf(sender) }));

    // Npgsql never reconnects an open connection behind our back: the same session still answers, so its locks stand.
    protected override async Task<bool> HoldsAsync(DbConnection connection, IReadOnlyCollection<string> senders, CancellationToken cancellationToken)
    {
        await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1;", cancellationToken: cancellationToken)).ConfigureAwait(false);
        return true;
    }

    protected override bool IsDriverError(Exception error) => error is NpgsqlException;
}
