using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Dmp.Store.Inbox;
using Npgsql;

namespace Dmp.Store.Sql;

/// <summary>
/// Sender leases as PostgreSQL session-level advisory locks, all on one dedicated (unpooled)
/// connection: a lease lasts from the claim to the commit of the outcomes, and ends by itself when
/// the connection or the process dies, so another instance takes the sender over.
/// </summary>
internal sealed class PostgresSenderLeases(string connectionString) : SenderLeases
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Session advisory locks stack: each successful try-lock needs its own unlock, so count them.
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private NpgsqlConnection? _connection;

    public override bool SharedAcrossProcesses => true;

    /// <summary>The advisory lock key of a sender: a stable 64-bit hash of its name (the same in every process and version).</summary>
    internal static long KeyOf(string sender) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes("dmp-ingest/sender-lease\n" + sender)));

    public override async Task<bool> TryAcquireAsync(string sender, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
            bool taken;
            try
            {
                taken = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    "SELECT pg_try_advisory_lock(@Key);", new { Key = KeyOf(sender) }, cancellationToken: cancellationToken))
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                await DropConnectionAsync().ConfigureAwait(false);
                throw;
            }

            if (taken)
            {
                _held[sender] = _held.GetValueOrDefault(sender) + 1;
            }

            return taken;
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
                {
                    _held.Remove(sender);
                }
                else
                {
                    _held[sender] = count - 1;
                }

                try
                {
                    await _connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                        "SELECT pg_advisory_unlock(@Key);", new { Key = KeyOf(sender) })).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
                {
                    // The session is gone, and every lock it held with it.
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
                try
                {
                    // Npgsql never reconnects an open connection behind our back: the same session still answers, so its locks stand.
                    await connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1;", cancellationToken: cancellationToken))
                        .ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
                {
                    await DropConnectionAsync().ConfigureAwait(false);
                    throw new SenderLeaseLostException(
                        "The PostgreSQL session holding the sender leases ended: the outcomes are not recorded and the messages are processed again.", e);
                }
            }

            throw new SenderLeaseLostException(
                "A sender lease was lost with its PostgreSQL session: the outcomes are not recorded and the messages are processed again.");
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

    private async Task<NpgsqlConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } open)
        {
            return open;
        }

        var connection = new NpgsqlConnection(connectionString);
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
