namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// The system clock moved by a settable offset: a test registers it as the gateway's TimeProvider, so that what the
/// apply stores while the offset is set (a document's stored time, its audit event) happened that long ago.
/// </summary>
internal sealed class TestClock : TimeProvider
{
    private long _offsetTicks;

    /// <summary>How far the clock is from the system's (negative: in the past).</summary>
    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}
