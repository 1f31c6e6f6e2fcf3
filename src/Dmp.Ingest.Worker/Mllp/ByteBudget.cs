namespace Dmp.Ingest.Worker.Mllp;

/// <summary>
/// A global budget of bytes held in memory by frames waiting for their commit. When it is spent,
/// connections wait before reading more, so TCP pushes back on senders instead of memory growing.
/// </summary>
public sealed class ByteBudget(long capacity)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<(long Bytes, TaskCompletionSource Waiter)> _waiters = new();
    private long _used;

    public long Capacity => capacity;
    public long Used { get { lock (_gate) return _used; } }

    /// <summary>Takes <paramref name="bytes"/> (at most the capacity) from the budget, waiting while it is spent.</summary>
    public async ValueTask<long> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Min(bytes, capacity);
        TaskCompletionSource waiter;
        LinkedListNode<(long, TaskCompletionSource)> node;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _used + bytes <= capacity)
            {
                _used += bytes;
                return bytes;
            }
            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast((bytes, waiter));
        }
        try
        {
            await waiter.Task.WaitAsync(cancellationToken);
            return bytes;
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (node.List is not null)
                {
                    _waiters.Remove(node);
                    throw;
                }
            }
            // Granted just as we gave up: give it back.
            Release(bytes);
            throw;
        }
    }

    public void Release(long bytes)
    {
        List<TaskCompletionSource>? granted = null;
        lock (_gate)
        {
            _used -= bytes;
            while (_waiters.First is { } first && _used + first.Value.Bytes <= capacity)
            {
                _used += first.Value.Bytes;
                _waiters.RemoveFirst();
                (granted ??= []).Add(first.Value.Waiter);
            }
        }
        if (granted is not null)
            foreach (var waiter in granted)
                waiter.TrySetResult();
    }
}
