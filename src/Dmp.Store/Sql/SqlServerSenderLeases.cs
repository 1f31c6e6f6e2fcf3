using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Data.SqlClient;

namespace Dmp.Store.Sql;

/// <summary>
/// Sender leases as SQL Server session application locks (<c>sp_getapplock</c>, owner Session; the bookkeeping in
/// <see cref="SessionLockSenderLeases"/>). The dialect gives this connection no pooling and no automatic reconnection,
/// and the check before outcomes are committed asks the server which locks the session still holds.
/// </summary>
internal sealed class SqlServerSenderLeases(string connectionString) : SessionLockSenderLeases
{
    /// <summary>Takes a sender's lock without waiting; the result is sp_getapplock's (0 granted, negative refused).</summary>
    internal const string TryLockSql =
        """
        DECLARE @result INT;
        EXEC @result = sp_getapplock @Resource = @Resource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
        SELECT @result;
        """;

    /// <summary>Gives one hold of a sender's lock back (session locks stack, like PostgreSQL's advisory locks).</summary>
    internal const string UnlockSql = "EXEC sp_releaseapplock @Resource = @Resource, @LockOwner = 'Session';";

    /// <summary>How many of the resources this session holds exclusively (checked before outcomes are committed).</summary>
    internal const string HeldSql =
        "SELECT COUNT(*) FROM (SELECT r.value AS resource FROM OPENJSON(@Resources) AS r) AS x WHERE APPLOCK_MODE(N'public', x.resource, N'Session') = N'Exclusive';";

    /// <summary>The lock resource of a sender: a stable hash of its name (at most 255 characters, the same in every process).</summary>
    internal static string ResourceOf(string sender) =>
        "dmp-ingest/sender/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("dmp-ingest/sender-lease\n" + sender)));

    protected override string DatabaseName => "SQL Server";

    protected override DbConnection CreateConnection() => new SqlConnection(connectionString);

    protected override async Task<bool> TryLockAsync(DbConnection connection, string sender, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            TryLockSql, new { Resource = ResourceOf(sender) }, cancellationToken: cancellationToken)).ConfigureAwait(false) >= 0;

    protected override Task UnlockAsync(DbConnection connection, string sender) =>
        connection.ExecuteAsync(new CommandDefinition(UnlockSql, new { Resource = ResourceOf(sender) }));

    protected override async Task<bool> HoldsAsync(DbConnection connection, IReadOnlyCollection<string> senders, CancellationToken cancellationToken)
    {
        var resources = senders.Distinct(StringComparer.Ordinal).Select(ResourceOf).ToArray();
        var held = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            HeldSql, new { Resources = System.Text.Json.JsonSerializer.Serialize(resources) }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return held == resources.Length;
    }

    protected override bool IsDriverError(Exception error) => error is SqlException;
}
