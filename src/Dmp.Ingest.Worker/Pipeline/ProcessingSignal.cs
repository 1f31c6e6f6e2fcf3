namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>Wakes the processing worker when new work was stored, so it does not wait for its next poll.</summary>
public sealed class ProcessingSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private long _arrivals;

    /// <summary>Messages the listeners stored as `accepted` since start: the intake's rate, for <see cref="IntakePressure"/>.</summary>
    public long Arrivals => Interlocked.Read(ref _arrivals);

    /// <summary>A listener stored a new `accepted` message: counted, then the worker woken.</summary>
    public void Arrived()
    {
        Interlocked.Increment(ref _arrivals);
        Pulse();
    }

    public void Pulse()
    {
        try
        {
            if (_signal.CurrentCount == 0)
                _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
