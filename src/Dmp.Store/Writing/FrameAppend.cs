using System.Runtime.InteropServices;
using Dapper;
using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Writing;

/// <summary>
/// An inbound frame to store durably, or to recognise as a resend of a stored one (dedup is the
/// unique key on sender, control id and SHA-256): the inbox's hot path, one item per frame.
/// </summary>
internal sealed class FrameAppend(
    InboundFrame frame, Func<InboxDecisionContext, InboxDecision> decide, string? blobKey, CancellationToken cancellationToken)
    : WriteItem(cancellationToken)
{
    private const string FindByIdentitySql =
        """
        SELECT id AS Id, status AS Status, ack AS Ack, ack_code AS AckCode, receipts AS Receipts, warnings AS Warnings
        FROM inbound_message
        WHERE sender = @Sender AND control_id = @ControlId AND sha256 = @Sha256;
        """;

    private const string RecordResendSql =
        """
        UPDATE inbound_message
        SET receipts = receipts + 1,
            last_received_at = CASE WHEN @At > last_received_at THEN @At ELSE last_received_at END
        WHERE id = @Id;
        """;

    private readonly TaskCompletionSource<InboxReceipt> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private InboxReceipt? _receipt;
    private Exception? _failure;
    private LookedUp? _lookedUp; // both look-ups, made for the whole group (see LookUpGroupAsync)

    public Task<InboxReceipt> Completion => _completion.Task;

    private string Sender => frame.Sender;

    private string ControlId => frame.ControlId ?? string.Empty;

    private byte[] Sha256 => frame.Sha256;

    /// <summary>
    /// Where each statement is a round trip (<see cref="SqlDialect.FrameGroupLookupsSql"/>), makes the look-ups of the
    /// group's frames in one statement, inside the group's transaction, before any of them is written. Only for frames
    /// whose sender and control id no other frame of the group shares, so that no earlier frame of the group can change
    /// what theirs find; the others look up at their turn, as alone. A row another instance commits meanwhile is met by
    /// the insert's conflict, as it is between a frame's own look-up and its insert.
    /// </summary>
    public static async Task LookUpGroupAsync(List<WriteItem> batch, WriteContext context)
    {
        if (context.Dialect.FrameGroupLookupsSql is not { } sql)
        {
            return;
        }

        var shared = new Dictionary<(string Sender, string ControlId), int>();
        foreach (var item in batch)
        {
            if (item is FrameAppend f)
            {
                var key = (f.Sender, f.ControlId);
                shared[key] = shared.GetValueOrDefault(key) + 1;
            }
        }

        var frames = new List<FrameAppend>(batch.Count);
        foreach (var item in batch)
        {
            if (item is FrameAppend f && shared[(f.Sender, f.ControlId)] == 1)
            {
                frames.Add(f);
            }
        }

        if (frames.Count == 0)
        {
            return;
        }

        // Each row: the frame's position and any id with its control id, then its stored row (null when none: Id is NULL).
        await context.Connection.QueryAsync<GroupRow, StoredIdentity?, bool>(
            new CommandDefinition(
                sql,
                new
                {
                    Senders = frames.Select(f => f.Sender).ToArray(),
                    ControlIds = frames.Select(f => f.ControlId).ToArray(),
                    Shas = frames.Select(f => f.Sha256).ToArray(),
                },
                context.Transaction),
            (row, stored) =>
            {
                frames[checked((int)row.I - 1)]._lookedUp = new LookedUp(stored, row.AnyId);
                return true;
            },
            splitOn: nameof(StoredIdentity.Id)).ConfigureAwait(false);
    }

    public override async Task WriteAsync(WriteContext context)
    {
        var (connection, transaction, dialect) = context;
        var controlId = ControlId;
        var identity = new { frame.Sender, ControlId = controlId, frame.Sha256 };
        var lookedUp = _lookedUp;

        var stored = lookedUp is not null
            ? lookedUp.Stored
            : await connection.QuerySingleOrDefaultAsync<StoredIdentity>(
                new CommandDefinition(FindByIdentitySql, identity, transaction)).ConfigureAwait(false);
        if (stored is not null)
        {
            _receipt = await RecordResendAsync(context, stored).ConfigureAwait(false);
            return;
        }

        // Reuse of a control id with other bytes is only worth a warning: dedup is the unique key.
        long? previousId = controlId.Length == 0 ? null
            : lookedUp is not null ? lookedUp.AnyId
            : await connection.ExecuteScalarAsync<long?>(
                new CommandDefinition(dialect.AnyIdWithControlIdSql, new { frame.Sender, ControlId = controlId }, transaction))
                .ConfigureAwait(false);

        InboxDecision decision;
        try
        {
            decision = decide(new InboxDecisionContext(frame, previousId is not null, previousId))
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
            _failure = ex;
            return;
        }

        IReadOnlyList<string> warnings = decision.Warnings ?? [];
        if (previousId is not null)
        {
            warnings = WarningList.Merge(warnings, [InboxWarnings.ControlIdReused]);
        }

        var receivedAt = StoreTime.Write(frame.ReceivedAt);
        var detail = decision.Error ?? InboxHistoryDetail.Received; // the first history line's
        var withHistory = dialect.InsertInboundMessageWithHistorySql;
        var id = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            withHistory ?? dialect.InsertInboundMessageSql,
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
                Raw = blobKey is null ? AsArray(frame.Raw) : null,
                BlobKey = blobKey,
                frame.Truncated,
                decision.Status,
                Warnings = WarningList.Serialize(warnings),
                decision.Error,
                ReceivedAt = receivedAt,
                decision.Ack,
                decision.AckCode,
                frame.SenderName,
                frame.TraceId,
                frame.TraceParent,
                Detail = detail, // where the history line is written with the row
            },
            transaction)).ConfigureAwait(false);

        if (id is null)
        {
            // Another writer on the same database stored this identity first: answer as a resend.
            stored = await connection.QuerySingleOrDefaultAsync<StoredIdentity>(
                new CommandDefinition(FindByIdentitySql, identity, transaction)).ConfigureAwait(false)
                ?? throw new InvalidOperationException("An inbound message conflicted on its identity but cannot be found.");
            _receipt = await RecordResendAsync(context, stored).ConfigureAwait(false);
            return;
        }

        if (withHistory is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                GroupCommitWriter.InsertHistorySql,
                new { MessageId = id.Value, At = receivedAt, decision.Status, Detail = detail },
                transaction)).ConfigureAwait(false);
        }

        _receipt = new InboxReceipt(id.Value, false, decision.Status, decision.Ack, decision.AckCode, 1, warnings);
    }

    public override void Reset()
    {
        _receipt = null;
        _failure = null;
        _lookedUp = null;
    }

    public override bool Complete()
    {
        if (_receipt is { } receipt)
        {
            _completion.TrySetResult(receipt);
            return true;
        }

        _completion.TrySetException(_failure ?? new InvalidOperationException("The frame was neither stored nor failed."));
        return false;
    }

    public override void Fail(Exception batchFailure) => _completion.TrySetException(_failure ?? batchFailure);

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);

    private async Task<InboxReceipt> RecordResendAsync(WriteContext context, StoredIdentity stored)
    {
        var (connection, transaction, dialect) = context;
        var at = StoreTime.Write(frame.ReceivedAt);
        await connection.ExecuteAsync(new CommandDefinition(RecordResendSql, new { stored.Id, At = at }, transaction))
            .ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            GroupCommitWriter.InsertHistorySql,
            new { MessageId = stored.Id, At = at, stored.Status, Detail = InboxHistoryDetail.Resent },
            transaction)).ConfigureAwait(false);
        return new InboxReceipt(
            stored.Id, true, stored.Status, stored.Ack, stored.AckCode, checked((int)stored.Receipts + 1),
            WarningList.Parse(stored.Warnings));
    }

    private static byte[] AsArray(ReadOnlyMemory<byte> bytes) =>
        MemoryMarshal.TryGetArray(bytes, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : bytes.ToArray();

    private sealed record LookedUp(StoredIdentity? Stored, long? AnyId);

    private sealed class GroupRow
    {
        public long I { get; set; }
        public long? AnyId { get; set; }
    }

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
