namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>
/// Intake first during a burst. While messages arrive faster than <see cref="ProcessingOptions.DeferAbovePerSecond"/>
/// (averaged over at least <see cref="Window"/>), the processing worker waits and leaves the cores and the store's writer
/// to the listeners, so that senders get their ACKs sooner; after <see cref="ProcessingOptions.MaxDeferSeconds"/> of
/// waiting it processes until nothing is left before it may wait again, so a stream that never slows still gets
/// processed. Below the threshold — a steady stream — processing follows the intake as it arrives.
/// Not thread-safe: the processing worker's loop alone asks it.
/// </summary>
public sealed class IntakePressure(double deferAbovePerSecond, TimeSpan maxDefer)
{
    /// <summary>The shortest span the arrival rate is averaged over.</summary>
    internal static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    private TimeSpan? _windowStart;
    private long _windowArrivals;
    private TimeSpan? _deferringSince;

    /// <summary>The arrival rate over the last complete window, in messages per second.</summary>
    public double Rate { get; private set; }

    /// <summary>True while processing should wait.</summary>
    /// <param name="arrivals">Messages stored by the listeners so far (<see cref="ProcessingSignal.Arrivals"/>).</param>
    /// <param name="now">A monotonic clock's reading.</param>
    public bool ShouldDefer(long arrivals, TimeSpan now)
    {
        if (_windowStart is not { } start)
        {
            (_windowStart, _windowArrivals) = (now, arrivals);
        }
        else if (now - start >= Window)
        {
            Rate = (arrivals - _windowArrivals) / (now - start).TotalSeconds;
            (_windowStart, _windowArrivals) = (now, arrivals);
        }

        if (deferAbovePerSecond <= 0 || CatchingUp || Rate <= deferAbovePerSecond)
        {
            _deferringSince = null;
            return false;
        }
        _deferringSince ??= now;
        if (now - _deferringSince.Value < maxDefer)
            return true;
        // Waited long enough: work through the backlog before waiting again.
        (CatchingUp, _deferringSince) = (true, null);
        return false;
    }

    /// <summary>True once processing waited its longest and works through the backlog until nothing is left.</summary>
    public bool CatchingUp { get; private set; }

    /// <summary>Nothing was left to process: a later burst may be deferred again.</summary>
    public void CaughtUp() => CatchingUp = false;
}
