using System.Diagnostics.Metrics;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>
/// The ACK latency of the last hour for the dashboard: a <see cref="MeterListener"/> on the histogram
/// `dmp.mllp.ack.duration` (meter `Dmp.Ingest`, seconds) keeps each measurement with its time, and gives p50/p99.
/// When the gateway publishes no such instrument, there is no data and the dashboard says so. Only this gateway's meter
/// (the one its <see cref="IMeterFactory"/> made) is heard: several gateways in one process keep their own figures.
/// </summary>
public sealed class AckLatency : IDisposable
{
    public const string MeterName = "Dmp.Ingest";
    public const string InstrumentName = "dmp.mllp.ack.duration";
    private const int MaxKept = 100_000;

    private readonly MeterListener _listener = new();
    private readonly Queue<(long At, double Seconds)> _samples = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;

    public AckLatency(TimeProvider time, IMeterFactory meters)
    {
        _time = time;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name == InstrumentName && ReferenceEquals(instrument.Meter.Scope, meters))
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) => Record(value));
        _listener.SetMeasurementEventCallback<float>((_, value, _, _) => Record(value));
        _listener.Start();
    }

    /// <summary>p50 and p99 in milliseconds over the last hour, or null when nothing was measured.</summary>
    public (double P50, double P99, int Count)? Percentiles()
    {
        double[] values;
        lock (_gate)
        {
            Trim();
            values = _samples.Select(s => s.Seconds).ToArray();
        }
        if (values.Length == 0)
            return null;
        Array.Sort(values);
        return (At(values, 0.50) * 1000, At(values, 0.99) * 1000, values.Length);
    }

    private static double At(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    private void Record(double seconds)
    {
        lock (_gate)
        {
            _samples.Enqueue((_time.GetTimestamp(), seconds));
            if (_samples.Count > MaxKept)
                _samples.Dequeue();
        }
    }

    private void Trim()
    {
        var now = _time.GetTimestamp();
        while (_samples.Count > 0 && _time.GetElapsedTime(_samples.Peek().At, now) > TimeSpan.FromHours(1))
            _samples.Dequeue();
    }

    public void Dispose() => _listener.Dispose();
}
