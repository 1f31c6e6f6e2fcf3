using System.Data.Common;
using Dmp.Store.Inbox;

namespace Dmp.Store.Sql;

/// <summary>
/// Sender leases as session-level locks of a server database, all on one dedicated (unpooled) connection: a lease lasts
/// from the claim to the commit of the outcomes, and ends by itself when the connection or the process dies, so another
/// instance takes the sender over. The dialects say how to take, give back and check one lock
/// (<see cref="PostgresSenderLeases"/>, <see cref="SqlServerSenderLeases"/>); the bookkeeping is here.
/// </summary>
internal abstract class SessionLockSenderLeases : SenderLeases
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    // Session locks stack: each successful try-lock needs its own unlock, so count them.
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);
    private DbConnection? _connection;

    public override bool SharedAcrossProcesses => true;

    /// <summary>The database as the error messages name it ("PostgreSQL").</summary>
    protected abstract string DatabaseName { get; }

    /// <summary>A new connection of its own (unpooled, never reconnecting behind the leases' back), not yet open.</summary>
    protected abstract DbConnection CreateConnection();

    /// <summary>Takes the sender's lock without waiting; false when another session holds it.</summary>
    protected abstract Task<bool> TryLockAsync(DbConnection connection, string sender, CancellationToken cancellationToken);

    /// <summary>Gives one hold of the sender's lock back.</summary>
    protected abstract Task UnlockAsync(DbConnection connection, string sender);

    /// <summary>True when the session still holds every one of <paramref name="senders"/>' locks; throws when the session is gone.</summary>
    protected abstract Task<bool> HoldsAsync(DbConnection connection, IReadOnlyCollection<string> senders, CancellationToken cancellationToken);

    /// <summary>The driver's own errors (the session is broken or gone), as opposed to a cancellation or a bug.</summary>
    protected abstract bool IsDriverError(Exception error);

    public override async Task<bool> TryAcquireAsync(string sender, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
            bool taken;
            try
            {
                taken = await TryLockAsync(connection, sender, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsDriverError(e) || e is InvalidOperationException)
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
                    await UnlockAsync(_connection, sender).ConfigureAwait(false);
                }
                catch (Exception e) when (IsDriverError(e) || e is InvalidOperationException)
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
                bool holds;
                try
                {
                    holds = await HoldsAsync(connection, senders, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (IsDriverError(e) || e is InvalidOperationException)
                {
                    await DropConnectionAsync().ConfigureAwait(false);
                    throw new SenderLeaseLostException(
                        $"The {DatabaseName} session holding the sender leases ended: the outcomes are not recorded and the messages are processed again.", e);
                }

                if (holds)
                {
                    return;
                }
            }

            throw new SenderLeaseLostException(
                $"A sender lease was lost with its {DatabaseName} session: the outcomes are not recorded and the messages are processed again.");
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

    private async Task<DbConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } open)
        {
            return open;
        }

        var connection = CreateConnection();
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
