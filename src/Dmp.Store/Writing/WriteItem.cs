using System.Data.Common;
using Dmp.Store.Sql;

namespace Dmp.Store.Writing;

/// <summary>
/// One unit of work queued to the <see cref="GroupCommitWriter"/>: written inside a grouped
/// transaction, and completed only once that transaction is committed (or failed when it is not).
/// </summary>
internal abstract class WriteItem(CancellationToken cancellationToken)
{
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>
    /// Long work (a chunk of processing outcomes and dossier changes) that the writer commits in a transaction of its
    /// own, after the frames waiting, so that no ACK waits for it longer than one such transaction.
    /// </summary>
    public virtual bool Bulk => false;

    /// <summary>
    /// Writes this item inside the batch transaction. A failure of the item alone is kept for
    /// <see cref="Complete"/> (the batch goes on); an exception thrown rolls the whole batch back.
    /// </summary>
    public abstract Task WriteAsync(WriteContext context);

    /// <summary>Forgets what a rolled-back attempt recorded, before the batch is written again.</summary>
    public abstract void Reset();

    /// <summary>Completes the caller once the batch is committed; true when it stored a frame (for the writer's counters).</summary>
    public abstract bool Complete();

    /// <summary>Faults the caller: the batch was not committed (the item's own failure wins over the batch's).</summary>
    public abstract void Fail(Exception batchFailure);

    /// <summary>Cancels the caller whose token fired before the item was taken into a batch.</summary>
    public abstract void Cancel();
}

/// <summary>What an item writes with: the writer's connection, the batch transaction and the store's dialect.</summary>
internal readonly record struct WriteContext(DbConnection Connection, DbTransaction Transaction, SqlDialect Dialect);

/// <summary>
/// A caller's own statements run in the batch transaction under a savepoint, so their failure rolls
/// back only them and fails only their caller (audit appends, patient rights, processing outcomes).
/// </summary>
internal sealed class TransactionWork(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken, bool bulk = false)
    : WriteItem(cancellationToken)
{
    public override bool Bulk => bulk;

    private const string Savepoint = "dmp_work";

    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _failure;

    public Task Completion => _completion.Task;

    public override async Task WriteAsync(WriteContext context)
    {
        var transaction = context.Transaction;
        await transaction.SaveAsync(Savepoint).ConfigureAwait(false);
        try
        {
            await work(context.Connection, transaction).ConfigureAwait(false);
            await transaction.ReleaseAsync(Savepoint).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the work's failure is its caller's, not the batch's
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await transaction.RollbackAsync(Savepoint).ConfigureAwait(false);
            _failure = ex;
        }
    }

    public override void Reset() => _failure = null;

    public override bool Complete()
    {
        if (_failure is { } failure)
        {
            _completion.TrySetException(failure);
        }
        else
        {
            _completion.TrySetResult();
        }

        return false;
    }

    public override void Fail(Exception batchFailure) => _completion.TrySetException(_failure ?? batchFailure);

    public override void Cancel() => _completion.TrySetCanceled(CancellationToken);
}
