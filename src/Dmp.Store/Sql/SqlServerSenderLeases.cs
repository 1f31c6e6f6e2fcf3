using System.Security.Cryptography;
using System.Text;
using Dapper;
using Dmp.Store.Inbox;
using Microsoft.Data.SqlClient;

namespace Dmp.Store.Sql;

/// <summary>
/// Sender leases as SQL Server session application locks (<c>sp_getapplock</c>, owner Session), all on one dedicated
/// unpooled connection that never reconnects by itself: a lease lasts from the claim to the commit of the outcomes,
/// and ends by itself when the connection or the process dies, so another instance takes the sender over
/// (what <see cref="PostgresSenderLeases"/> does with advisory locks).
/// </summary>
internal sealed class SqlServerSenderLeases(string connectionString) : SenderLeases
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

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private SqlConnection? _connection;

    public override bool SharedAcrossProcesses => true;

    /// <summary>The lock resource of a sender: a stable hash of its name (at most 255 characters, the same in every process).</summary>
    internal static string ResourceOf(string sender) =>
        "dmp-ingest/sender/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("dmp-ingest/sender-lease\n" + sender)));

    public override async Task<bool> TryAcquireAsync(string sender, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
            int result;
            try
            {
                result = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                    TryLockSql, new { Resource = ResourceOf(sender) }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SqlException or InvalidOperationException)
            {
                await DropConnectionAsync().ConfigureAwait(false);
                throw;
            }

            if (result >= 0)
            {
                _held[sender] = _held.GetValueOrDefault(sender) + 1;
            }

            return result >= 0;
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task ReleaseAsync(IReadOnlyCollection<string> senders)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var sender in senders)
            {
                if (_connection is null || !_held.TryGetValue(sender, out var count))
                {
                    continue; // lost with its session: nothing left to unlock
                }

                if (count == 1)
                    _held.Remove(sender);
                else
                    _held[sender] = count - 1;

                try
                {
                    await _connection.ExecuteAsync(new CommandDefinition(UnlockSql, new { Resource = ResourceOf(sender) })).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SqlException or InvalidOperationException)
                {
                    await DropConnectionAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async Task EnsureHeldAsync(IReadOnlyCollection<string> senders, CancellationToken cancellationToken)
    {
        if (senders.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is { } connection && senders.All(_held.ContainsKey))
            {
                var resources = senders.Distinct(StringComparer.Ordinal).Select(ResourceOf).ToArray();
                int held;
                try
                {
                    held = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                        HeldSql, new { Resources = System.Text.Json.JsonSerializer.Serialize(resources) }, cancellationToken: cancellationToken))
                        .ConfigureAwait(false);
                }
                catch (Exception e) when (e is SqlException or InvalidOperationException)
                {
                    await DropConnectionAsync().ConfigureAwait(false);
                    throw new SenderLeaseLostException(
                        "The SQL Server session holding the sender leases ended: the outcomes are not recorded and the messages are processed again.", e);
                }

                if (held == resources.Length)
                {
                    return;
                }
            }

            throw new SenderLeaseLostException(
                "A sender lease was lost with its SQL Server session: the outcomes are not recorded and the messages are processed again.");
        }
        finally
        {
            _gate.Release();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await DropConnectionAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<SqlConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } open)
        {
            return open;
        }

        var connection = new SqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _connection = connection;
        return connection;
    }

    private async Task DropConnectionAsync()
    {
        _held.Clear();
        var connection = _connection;
        _connection = null;
        if (connection is null)
        {
            return;
        }

        try
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // closing a broken connection may fail too; its session is over either way
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
