using System.Data.Common;
using System.Threading.Channels;
using Dmp.Store.Blobs;
using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Writing;

/// <summary>
/// The store's single write queue: inbound frames, audit events, patient rights and dossier updates
/// are queued as <see cref="WriteItem"/>s; a background loop takes whatever is queued (up to
/// <see cref="StoreOptions.MaxBatch"/>), writes it in one transaction and completes every caller only
/// once that transaction is durably committed — so an ACK is never sent for a frame that could still
/// be lost, and one fsync serves many writes. The one exception is a chunk of processing outcomes with
/// more work queued behind it, which on SQLite leaves its fsync to the transaction that follows it at once
/// (see <see cref="RunBulkWriteTransactionAsync"/>).
/// </summary>
public sealed class GroupCommitWriter : IAsyncDisposable
{
    // Any earlier row will do (it is only named in a warning). MAX(id) would lead SQLite's planner to walk
    // the sender's (sender, id) index newest first — every row of the sender for a new control id — while
    // this form is answered from the unique key's (sender, control_id) prefix in one seek.
    // The SQLite and PostgreSQL form; a dialect without LIMIT overrides SqlDialect.AnyIdWithControlIdSql.
    internal const string LastIdWithControlIdSql =
        "SELECT id FROM inbound_message WHERE sender = @Sender AND control_id = @ControlId LIMIT 1;";

    internal const string InsertHistorySql =
        "INSERT INTO inbound_message_history (message_id, at, status, detail) VALUES (@MessageId, @At, @Status, @Detail);";

    private readonly SqlDialect _dialect;
    private readonly IBlobStore _blobs;
    private readonly int _inlineRawMaxBytes;
    private readonly int _maxBatch;
    private readonly Channel<WriteItem> _queue =
        Channel.CreateUnbounded<WriteItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private DbConnection? _connection;
    private bool _syncDeferred;   // the connection is switched to commits that leave their sync to the next one
    private bool _unsynced;       // the last commit left its sync to the next one
    private long _transactions;
    private long _framesWritten;
    private long _deferredSyncs;
    private int _disposed;

    public GroupCommitWriter(SqlDialect connections, IBlobStore blobs, StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        _dialect = connections;
        _blobs = blobs;
        _inlineRawMaxBytes = options.InlineRawMaxBytes;
        _maxBatch = Math.Max(1, options.MaxBatch);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Committed write transactions.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Committed bulk transactions that left their sync to the synced transaction the writer ran right after them.</summary>
    public long DeferredSyncs => Interlocked.Read(ref _deferredSyncs);

    /// <summary>Frames (new or resent) whose outcome was committed.</summary>
    public long FramesWritten => Interlocked.Read(ref _framesWritten);

    /// <summary>The writer connection's durability settings as checked when it was opened.</summary>
    internal string? Durability { get; private set; }

    /// <summary>
    /// Stores the frame durably — or recognises a resend of a stored one — and returns the outcome
    /// once it is committed. <paramref name="decide"/> is called (on the writer's loop, inside the
    /// transaction: keep it quick) only for a frame not seen before; an exception it throws fails
    /// this frame alone.
    /// </summary>
    public async Task<InboxReceipt> AppendAsync(
        InboundFrame frame, Func<InboxDecisionContext, InboxDecision> decide, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(decide);
        ArgumentException.ThrowIfNullOrEmpty(frame.Channel, nameof(frame));
        ArgumentException.ThrowIfNullOrEmpty(frame.Sender, nameof(frame));
        if (frame.Sha256 is not { Length: 32 })
        {
            throw new ArgumentException("InboundFrame.Sha256 must be the 32-byte SHA-256 of the original frame.", nameof(frame));
        }

        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // Large payloads go to the blob store first, outside the transaction and in parallel with
        // other callers; content addressing makes a blob left by a failed commit harmless.
        var blobKey = frame.Raw.Length > _inlineRawMaxBytes
            ? await _blobs.PutAsync(frame.Raw, cancellationToken).ConfigureAwait(false)
            : null;

        var append = new FrameAppend(frame, decide, blobKey, cancellationToken);
        if (!_queue.Writer.TryWrite(append))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "The inbox writer is shutting down: the frame was not stored.");
        }

        return await append.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="work"/> inside the writer's next grouped transaction (under a savepoint,
    /// so a failure of the work rolls back only the work), and returns once that transaction is
    /// committed. Lets short writes (audit events, patient rights) share the inbox's fsyncs instead of adding their own.
    /// </summary>
    public Task RunInWriteTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) =>
        EnqueueAsync(work, bulk: false, cancellationToken);

    /// <summary>
    /// Updates the health probe's row in the writer's next grouped transaction — the very path every inbound frame
    /// takes — and returns once that transaction is committed: the store can commit. Throws when the row is missing.
    /// </summary>
    public Task ProbeCommitAsync(DateTimeOffset at, CancellationToken cancellationToken) =>
        RunInWriteTransactionAsync(TouchHealthProbe(at), cancellationToken);

    /// <summary>
    /// Runs long <paramref name="work"/> (a chunk of processing outcomes) on the writer's connection in a transaction of
    /// its own, taken only after the frames already waiting are committed and never two in a row while frames wait: an
    /// ACK is held back by at most one such transaction. Returns once it is committed; where the dialect allows
    /// (<see cref="SqlDialect.WriterDefersBulkSync"/>) and more work is queued behind it, before the fsync that the
    /// writer's next transaction makes for both — nothing may be acknowledged on the strength of this work alone.
    /// </summary>
    public Task RunBulkWriteTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) =>
        EnqueueAsync(work, bulk: true, cancellationToken);

    private async Task EnqueueAsync(Func<DbConnection, DbTransaction, Task> work, bool bulk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new TransactionWork(work, cancellationToken, bulk);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_queue.Writer.TryWrite(item))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "The inbox writer is shutting down.");
        }

        await item.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops taking work, writes what is already queued, then closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _queue.Writer.TryComplete();
        }

        await _loop.ConfigureAwait(false);
        var connection = Interlocked.Exchange(ref _connection, null);
        if (connection is not null)
        {
            await RestoreSyncAsync(connection).ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    // Frames and short writes go together in one transaction, bulk work one item per transaction. Before a bulk item,
    // the frames queued meanwhile (during the last commit) are committed first; then the item runs, whatever came after:
    // an ACK waits for at most one bulk item, and under a sustained burst of frames processing still advances.
    // Where the dialect allows (SQLite), a bulk item with more work queued behind it commits without its own sync: the
    // writer's very next transaction syncs, which makes the earlier commit durable too — a burst pays one fsync per group
    // of frames instead of one more per chunk of processing. Should nothing follow after all (the callers queued behind
    // it cancelled), the writer syncs on its own before it waits.
    private async Task RunAsync()
    {
        var batch = new List<WriteItem>(Math.Min(_maxBatch, 1024));
        var bulk = new Queue<WriteItem>();
        var single = new List<WriteItem>(1);
        var reader = _queue.Reader;
        while (bulk.Count > 0 || reader.TryPeek(out _) || await SyncThenWaitAsync(reader).ConfigureAwait(false))
        {
            Drain(reader, batch, bulk);
            if (batch.Count > 0)
            {
                await WriteBatchAsync(batch).ConfigureAwait(false);
                if (bulk.Count > 0)
                {
                    Drain(reader, batch, bulk);
                    if (batch.Count > 0)
                    {
                        await WriteBatchAsync(batch).ConfigureAwait(false);
                    }
                }
            }

            if (bulk.TryDequeue(out var work))
            {
                if (work.CancellationToken.IsCancellationRequested)
                {
                    work.Cancel();
                    continue;
                }

                single.Clear();
                single.Add(work);
                var followed = _dialect.WriterDefersBulkSync && (bulk.Count > 0 || reader.TryPeek(out _));
                await WriteBatchAsync(single, deferSync: followed).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Before the loop waits for work: if the last commit left its sync to a transaction that never came, a synced
    /// transaction of its own (the health probe's row) makes it durable.
    /// </summary>
    private async ValueTask<bool> SyncThenWaitAsync(ChannelReader<WriteItem> reader)
    {
        if (_unsynced)
        {
            await WriteBatchAsync([new TransactionWork(TouchHealthProbe(DateTimeOffset.UtcNow), CancellationToken.None)]).ConfigureAwait(false);
        }

        return await reader.WaitToReadAsync().ConfigureAwait(false);
    }

    /// <summary>The health probe's one row, written with <paramref name="at"/>: a write that always has a page to commit.</summary>
    private static Func<DbConnection, DbTransaction, Task> TouchHealthProbe(DateTimeOffset at) => async (connection, transaction) =>
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE health_probe SET at = @At WHERE id = 1;";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@At";
        parameter.Value = StoreTime.Write(at);
        command.Parameters.Add(parameter);
        if (await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false) != 1)
        {
            throw new InvalidOperationException("the health_probe row is missing");
        }
    };

    /// <summary>Takes what is queued (at most <see cref="StoreOptions.MaxBatch"/> short items): short items into the batch, bulk ones aside.</summary>
    private void Drain(ChannelReader<WriteItem> reader, List<WriteItem> batch, Queue<WriteItem> bulk)
    {
        batch.Clear();
        while (batch.Count < _maxBatch && reader.TryRead(out var item))
        {
            if (item.CancellationToken.IsCancellationRequested)
            {
                item.Cancel();
            }
            else if (item.Bulk)
            {
                bulk.Enqueue(item);
            }
            else
            {
                batch.Add(item);
            }
        }
    }

    private async Task WriteBatchAsync(List<WriteItem> batch, bool deferSync = false)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteTransactionAsync(batch, deferSync).ConfigureAwait(false);
                break;
            }
#pragma warning disable CA1031 // a broken batch must fault its callers, never stop the writer
            catch (Exception ex)
#pragma warning restore CA1031
            {
                await ResetConnectionAsync().ConfigureAwait(false);
                if (attempt < 5 && _dialect.Classify(ex) == WriteConflict.Transient)
                {
                    // Another instance's batch crossed ours: nothing was committed, write it all again.
                    foreach (var item in batch)
                    {
                        item.Reset();
                    }

                    await Task.Delay(Random.Shared.Next(1, 10 * attempt)).ConfigureAwait(false);
                    continue;
                }

                foreach (var item in batch)
                {
                    item.Fail(ex);
                }

                return;
            }
        }

        var written = 0;
        foreach (var item in batch)
        {
            if (item.Complete())
            {
                written++;
            }
        }

        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _framesWritten, written);
        if (deferSync)
        {
            Interlocked.Increment(ref _deferredSyncs);
        }
    }

    private async Task WriteTransactionAsync(List<WriteItem> batch, bool deferSync)
    {
        var connection = _connection ??= await OpenWriterConnectionAsync().ConfigureAwait(false);
        if (deferSync != _syncDeferred)
        {
            await _dialect.SetWriterSyncDeferredAsync(connection, deferSync, CancellationToken.None).ConfigureAwait(false);
            _syncDeferred = deferSync;
        }

        var transaction = await _dialect.BeginWriteAsync(connection, CancellationToken.None).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var context = new WriteContext(connection, transaction, _dialect);
            await FrameAppend.LookUpGroupAsync(batch, context).ConfigureAwait(false);
            foreach (var item in batch)
            {
                await item.WriteAsync(context).ConfigureAwait(false);
            }

            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        // A synced commit makes every earlier one durable.
        _unsynced = deferSync;
    }

    /// <summary>A connection switched to deferred syncs goes back to the pool switched back (or not at all).</summary>
    private async Task RestoreSyncAsync(DbConnection connection)
    {
        if (_syncDeferred)
        {
            _syncDeferred = false;
            await _dialect.RestoreWriterSyncAsync(connection).ConfigureAwait(false);
        }
    }

    private async Task<DbConnection> OpenWriterConnectionAsync()
    {
        var connection = await _dialect.OpenWriterAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            Durability = await _dialect.EnsureDurableAsync(connection, CancellationToken.None).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ResetConnectionAsync()
    {
        var connection = Interlocked.Exchange(ref _connection, null);
        if (connection is null)
        {
            return;
        }

        try
        {
            await RestoreSyncAsync(connection).ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // closing a broken connection may fail too; a new one is opened next time
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
