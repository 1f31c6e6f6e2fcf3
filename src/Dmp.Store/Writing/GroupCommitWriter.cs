using System.Data.Common;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Dapper;
using Dmp.Store.Blobs;
using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Writing;

/// <summary>
/// The single writer of the durable inbox. Callers queue frames; a background loop takes whatever
/// is queued (up to <see cref="StoreOptions.MaxBatch"/>), writes it in one transaction and completes
/// every caller only once that transaction is durably committed — so an ACK is never sent for a
/// frame that could still be lost, and one fsync serves many frames.
/// </summary>
public sealed class GroupCommitWriter : IAsyncDisposable
{
    private const string FindByIdentitySql =
        """
        SELECT id AS Id, status AS Status, ack AS Ack, ack_code AS AckCode, receipts AS Receipts, warnings AS Warnings
        FROM inbound_message
        WHERE sender = @Sender AND control_id = @ControlId AND sha256 = @Sha256;
        """;

    // Any earlier row will do (it is only named in a warning). MAX(id) would lead SQLite's planner to walk
    // the sender's (sender, id) index newest first — every row of the sender for a new control id — while
    // this form is answered from the unique key's (sender, control_id) prefix in one seek.
    internal const string LastIdWithControlIdSql =
        "SELECT id FROM inbound_message WHERE sender = @Sender AND control_id = @ControlId LIMIT 1;";

    private const string RecordResendSql =
        """
        UPDATE inbound_message
        SET receipts = receipts + 1,
            last_received_at = CASE WHEN @At > last_received_at THEN @At ELSE last_received_at END
        WHERE id = @Id;
        """;

    internal const string InsertHistorySql =
        "INSERT INTO inbound_message_history (message_id, at, status, detail) VALUES (@MessageId, @At, @Status, @Detail);";

    private readonly SqlDialect _connections;
    private readonly IBlobStore _blobs;
    private readonly int _inlineRawMaxBytes;
    private readonly int _maxBatch;
    private readonly Channel<PendingAppend> _queue =
        Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private DbConnection? _connection;
    private long _transactions;
    private long _framesWritten;
    private int _disposed;

    public GroupCommitWriter(SqlDialect connections, IBlobStore blobs, StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        _connections = connections;
        _blobs = blobs;
        _inlineRawMaxBytes = options.InlineRawMaxBytes;
        _maxBatch = Math.Max(1, options.MaxBatch);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Committed write transactions.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

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

        var pending = new PendingAppend(frame, decide, blobKey, cancellationToken);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "The inbox writer is shutting down: the frame was not stored.");
        }

        return await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="work"/> inside the writer's next grouped transaction (under a savepoint,
    /// so a failure of the work rolls back only the work), and returns once that transaction is
    /// committed. Lets the processing worker's updates share the inbox's fsyncs instead of adding its own.
    /// </summary>
    public async Task RunInWriteTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var pending = new PendingAppend(null!, null!, null, cancellationToken) { Work = work };
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "The inbox writer is shutting down.");
        }

        await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops taking frames, writes what is already queued, then closes the connection.</summary>
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
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingAppend>(Math.Min(_maxBatch, 1024));
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _maxBatch && reader.TryRead(out var pending))
            {
                if (pending.CancellationToken.IsCancellationRequested)
                {
                    pending.Completion.TrySetCanceled(pending.CancellationToken);
                    continue;
                }

                batch.Add(pending);
            }

            if (batch.Count > 0)
            {
                await WriteBatchAsync(batch).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteBatchAsync(List<PendingAppend> batch)
    {
        var outcomes = new Outcome[batch.Count];
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteTransactionAsync(batch, outcomes).ConfigureAwait(false);
                break;
            }
#pragma warning disable CA1031 // a broken batch must fault its callers, never stop the writer
            catch (Exception ex)
#pragma warning restore CA1031
            {
                await ResetConnectionAsync().ConfigureAwait(false);
                if (attempt < 5 && _connections.IsTransientConflict(ex))
                {
                    // Another instance's batch crossed ours: nothing was committed, write it all again.
                    Array.Clear(outcomes);
                    await Task.Delay(Random.Shared.Next(1, 10 * attempt)).ConfigureAwait(false);
                    continue;
                }

                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetException(outcomes[i].Failure ?? ex);
                }

                return;
            }
        }

        var written = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i].Receipt is { } receipt)
            {
                if (batch[i].Work is null)
                {
                    written++;
                }

                batch[i].Completion.TrySetResult(receipt);
            }
            else
            {
                batch[i].Completion.TrySetException(outcomes[i].Failure!);
            }
        }

        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _framesWritten, written);
    }

    private async Task WriteTransactionAsync(List<PendingAppend> batch, Outcome[] outcomes)
    {
        var connection = _connection ??= await OpenWriterConnectionAsync().ConfigureAwait(false);
        var transaction = await _connections.BeginWriteAsync(connection, CancellationToken.None).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            for (var i = 0; i < batch.Count; i++)
            {
                outcomes[i] = batch[i].Work is { } work
                    ? await RunWorkAsync(transaction, connection, work).ConfigureAwait(false)
                    : await WriteOneAsync(connection, transaction, batch[i]).ConfigureAwait(false);
            }

            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<Outcome> RunWorkAsync(DbTransaction transaction, DbConnection connection, Func<DbConnection, DbTransaction, Task> work)
    {
        const string savepoint = "dmp_work";
        await transaction.SaveAsync(savepoint).ConfigureAwait(false);
        try
        {
            await work(connection, transaction).ConfigureAwait(false);
            await transaction.ReleaseAsync(savepoint).ConfigureAwait(false);
            return new Outcome(WorkDone, null);
        }
#pragma warning disable CA1031 // the work's failure is its caller's, not the batch's
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await transaction.RollbackAsync(savepoint).ConfigureAwait(false);
            return new Outcome(null, ex);
        }
    }

    /// <summary>The receipt that completes a work item (it stores no frame).</summary>
    private static readonly InboxReceipt WorkDone = new(0, false, "", null, null, 0, []);

    private async Task<Outcome> WriteOneAsync(DbConnection connection, DbTransaction transaction, PendingAppend pending)
    {
        var frame = pending.Frame;
        var controlId = frame.ControlId ?? string.Empty;
        var identity = new { frame.Sender, ControlId = controlId, frame.Sha256 };

        var stored = await connection.QuerySingleOrDefaultAsync<StoredIdentity>(
            new CommandDefinition(FindByIdentitySql, identity, transaction)).ConfigureAwait(false);
        if (stored is not null)
        {
            return new Outcome(await RecordResendAsync(connection, transaction, stored, frame).ConfigureAwait(false), null);
        }

        // Reuse of a control id with other bytes is only worth a warning: dedup is the unique key.
        long? previousId = controlId.Length == 0
            ? null
            : await connection.ExecuteScalarAsync<long?>(
                new CommandDefinition(LastIdWithControlIdSql, new { frame.Sender, ControlId = controlId }, transaction))
                .ConfigureAwait(false);

        InboxDecision decision;
        try
        {
            decision = pending.Decide(new InboxDecisionContext(frame, previousId is not null, previousId))
                ?? throw new InvalidOperationException("The inbox decision callback returned null.");
            if (!InboxStatus.IsArrivalStatus(decision.Status))
            {
                throw new InvalidOperationException(
                    $"An arriving frame can only be accepted, ignored or rejected, not '{decision.Status}'.");
            }
        }
#pragma warning disable CA1031 // the caller's exception fails its own frame only
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new Outcome(null, ex);
        }

        IReadOnlyList<string> warnings = decision.Warnings ?? [];
        if (previousId is not null)
        {
            warnings = WarningList.Merge(warnings, [InboxWarnings.ControlIdReused]);
        }

        var receivedAt = _connections.WriteTime(frame.ReceivedAt);
        var id = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            _connections.InsertInboundMessageSql,
            new
            {
                frame.Channel,
                frame.Sender,
                ControlId = controlId,
                frame.MessageType,
                frame.FileName,
                frame.RemoteEndpoint,
                frame.Sha256,
                frame.Length,
                Raw = pending.BlobKey is null ? AsArray(frame.Raw) : null,
                pending.BlobKey,
                frame.Truncated,
                decision.Status,
                Warnings = WarningList.Serialize(warnings),
                decision.Error,
                ReceivedAt = receivedAt,
                decision.Ack,
                decision.AckCode,
            },
            transaction)).ConfigureAwait(false);

        if (id is null)
        {
            // Another writer on the same database stored this identity first: answer as a resend.
            stored = await connection.QuerySingleOrDefaultAsync<StoredIdentity>(
                new CommandDefinition(FindByIdentitySql, identity, transaction)).ConfigureAwait(false)
                ?? throw new InvalidOperationException("An inbound message conflicted on its identity but cannot be found.");
            return new Outcome(await RecordResendAsync(connection, transaction, stored, frame).ConfigureAwait(false), null);
        }

        await connection.ExecuteAsync(new CommandDefinition(
            InsertHistorySql,
            new { MessageId = id.Value, At = receivedAt, decision.Status, Detail = decision.Error ?? InboxHistoryDetail.Received },
            transaction)).ConfigureAwait(false);

        return new Outcome(new InboxReceipt(id.Value, false, decision.Status, decision.Ack, decision.AckCode, 1, warnings), null);
    }

    private async Task<InboxReceipt> RecordResendAsync(
        DbConnection connection, DbTransaction transaction, StoredIdentity stored, InboundFrame frame)
    {
        var at = _connections.WriteTime(frame.ReceivedAt);
        await connection.ExecuteAsync(new CommandDefinition(RecordResendSql, new { stored.Id, At = at }, transaction))
            .ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            InsertHistorySql,
            new { MessageId = stored.Id, At = at, stored.Status, Detail = InboxHistoryDetail.Resent },
            transaction)).ConfigureAwait(false);
        return new InboxReceipt(
            stored.Id, true, stored.Status, stored.Ack, stored.AckCode, checked((int)stored.Receipts + 1),
            WarningList.Parse(stored.Warnings));
    }

    private async Task<DbConnection> OpenWriterConnectionAsync()
    {
        var connection = await _connections.OpenWriterAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            Durability = await _connections.EnsureDurableAsync(connection, CancellationToken.None).ConfigureAwait(false);
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
            await connection.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // closing a broken connection may fail too; a new one is opened next time
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static byte[] AsArray(ReadOnlyMemory<byte> bytes) =>
        MemoryMarshal.TryGetArray(bytes, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToArray();

    private sealed class PendingAppend(
        InboundFrame frame, Func<InboxDecisionContext, InboxDecision> decide, string? blobKey, CancellationToken cancellationToken)
    {
        public InboundFrame Frame { get; } = frame;
        public Func<InboxDecisionContext, InboxDecision> Decide { get; } = decide;
        public string? BlobKey { get; } = blobKey;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<InboxReceipt> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set for a work item run inside the transaction instead of a frame.</summary>
        public Func<DbConnection, DbTransaction, Task>? Work { get; init; }
    }

    private readonly record struct Outcome(InboxReceipt? Receipt, Exception? Failure);

    private sealed class StoredIdentity
    {
        public long Id { get; set; }
        public string Status { get; set; } = "";
        public byte[]? Ack { get; set; }
        public string? AckCode { get; set; }
        public long Receipts { get; set; }
        public string? Warnings { get; set; }
    }
}
