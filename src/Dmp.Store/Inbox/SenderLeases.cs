namespace Dmp.Store.Inbox;

/// <summary>
/// Leases on senders, so that one processing worker at a time takes a sender's messages (in arrival
/// order). <see cref="InboxProcessing"/> keeps its own in-process lease table; this is the part that
/// other processes on the same database must see too.
/// </summary>
internal abstract class SenderLeases : IAsyncDisposable
{
    /// <summary>
    /// True when another process may hold a lease: a claim must then lease a sender before reading
    /// its messages, since what it read before may already be processed by the previous holder.
    /// </summary>
    public abstract bool SharedAcrossProcesses { get; }

    /// <summary>Takes the lease on <paramref name="sender"/> without waiting; false when another process holds it.</summary>
    public abstract Task<bool> TryAcquireAsync(string sender, CancellationToken cancellationToken);

    /// <summary>Gives the leases back (after the outcomes of the senders' messages are committed).</summary>
    public abstract Task ReleaseAsync(IReadOnlyCollection<string> senders);

    /// <summary>Throws when a lease on one of <paramref name="senders"/> was lost (its session ended) since it was taken.</summary>
    public abstract Task EnsureHeldAsync(IReadOnlyCollection<string> senders, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

/// <summary>One gateway process per database (SQLite): the in-process lease table is the whole story.</summary>
internal sealed class InProcessSenderLeases : SenderLeases
{
    public override bool SharedAcrossProcesses => false;

    public override Task<bool> TryAcquireAsync(string sender, CancellationToken cancellationToken) => Task.FromResult(true);

    public override Task ReleaseAsync(IReadOnlyCollection<string> senders) => Task.CompletedTask;

    public override Task EnsureHeldAsync(IReadOnlyCollection<string> senders, CancellationToken cancellationToken) => Task.CompletedTask;

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A sender lease was lost (the database session holding it ended): the messages stay accepted and are claimed again.</summary>
public sealed class SenderLeaseLostException(string message, Exception? inner = null) : Exception(message, inner);
