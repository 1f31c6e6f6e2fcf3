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
    private bool _catchingUp;

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

        if (deferAbovePerSecond <= 0 || _catchingUp || Rate <= deferAbovePerSecond)
        {
            _deferringSince = null;
            return false;
        }
        _deferringSince ??= now;
        if (now - _deferringSince.Value < maxDefer)
            return true;
        // Waited long enough: work through the backlog before waiting again.
        (_catchingUp, _deferringSince) = (true, null);
        return false;
    }

    /// <summary>True once processing waited its longest and works through the backlog until nothing is left.</summary>
    public bool CatchingUp => _catchingUp;

    /// <summary>Nothing was left to process: a later burst may be deferred again.</summary>
    public void CaughtUp() => _catchingUp = false;
}

/// <summary>The processing worker (`Dmp:Processing:*`).</summary>
public sealed class ProcessingOptions
{
    public const string Section = "Dmp:Processing";

    /// <summary>
    /// Messages per second (over 100 ms) above which the listeners' intake comes first and processing waits; 0 never
    /// waits. Ignored with `Dmp:Mllp:AckMode=Processed`, where the ACK waits for processing.
    /// </summary>
    public double DeferAbovePerSecond { get; set; } = 1500;

    /// <summary>The longest processing waits for a burst to end before it works through the backlog regardless.</summary>
    public double MaxDeferSeconds { get; set; } = 10;

    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (DeferAbovePerSecond is < 0 || double.IsNaN(DeferAbovePerSecond))
            failures.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Dmp:Processing:DeferAbovePerSecond is {DeferAbovePerSecond}: use 0 (processing never waits for the intake) or a rate in messages per second, e.g. 1500"));
        if (MaxDeferSeconds is not (>= 0 and <= 300) || double.IsNaN(MaxDeferSeconds))
            failures.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Dmp:Processing:MaxDeferSeconds is {MaxDeferSeconds}: use a number of seconds from 0 to 300, e.g. 10"));
        return failures;
    }
}

/// <summary>Validates `Dmp:Processing:*` at start, naming the key and the fix.</summary>
public sealed class ProcessingOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<ProcessingOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ProcessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = options.Validate();
        return failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}
