using System.Diagnostics;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.Alerts;

/// <summary>The inbox's figures at one evaluation: what the gauges report and the inbox rules start from.</summary>
/// <param name="ByStatus">Messages per status (every status named); <c>accepted</c> is always from this evaluation.</param>
/// <param name="OldestAcceptedAgeSeconds">How long the longest-waiting accepted message has waited; 0 when none waits.</param>
/// <param name="LastMinute">Messages that entered failed / rejected over the trailing 60 s.</param>
public sealed record InboxSnapshot(
    DateTimeOffset At, IReadOnlyDictionary<string, long> ByStatus, double OldestAcceptedAgeSeconds, FinalEntries LastMinute)
{
    public static InboxSnapshot Empty { get; } = new(
        DateTimeOffset.MinValue, InboxStatus.All.ToDictionary(s => s, _ => 0L), 0, new FinalEntries(0, 0));
}

/// <summary>
/// Reads <see cref="InboxFigures"/> for one evaluation and keeps the result for the gauges, so a scrape never
/// queries the store. The count per status reads the whole status index; when that grows slow it is refreshed less
/// often (never more than 5 % of the time spent on it), while the waiting count, the oldest wait and the rates are
/// read at every evaluation.
/// </summary>
public sealed class InboxSnapshots
{
    /// <summary>The window of the rate rules and figures.</summary>
    public static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(60);

    private InboxSnapshot _current = InboxSnapshot.Empty;
    private IReadOnlyDictionary<string, long>? _counts;
    private DateTimeOffset _nextFullCount = DateTimeOffset.MinValue;

    /// <summary>The last snapshot read (<see cref="InboxSnapshot.Empty"/> before the first).</summary>
    public InboxSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Reads the figures at <paramref name="now"/> and keeps them as <see cref="Current"/>.</summary>
    public async Task<InboxSnapshot> RefreshAsync(InboxFigures figures, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(figures);
        if (_counts is null || now >= _nextFullCount)
        {
            var started = Stopwatch.GetTimestamp();
            _counts = await figures.CountByStatusAsync(cancellationToken).ConfigureAwait(false);
            _nextFullCount = now + Stopwatch.GetElapsedTime(started) * 19;
        }

        var accepted = await figures.CountAcceptedAsync(null, cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, long>(_counts, StringComparer.Ordinal) { [InboxStatus.Accepted] = accepted };
        var oldest = await figures.OldestAcceptedSinceAsync(null, cancellationToken).ConfigureAwait(false);
        var lastMinute = await figures.CountEnteredSinceAsync(now - RateWindow, null, cancellationToken).ConfigureAwait(false);
        var snapshot = new InboxSnapshot(now, counts, AgeSeconds(oldest, now), lastMinute);
        Volatile.Write(ref _current, snapshot);
        return snapshot;
    }

    /// <summary>Seconds from <paramref name="since"/> to <paramref name="now"/>; 0 when null or in the future.</summary>
    public static double AgeSeconds(DateTimeOffset? since, DateTimeOffset now) =>
        since is { } s && now > s ? (now - s).TotalSeconds : 0;
}
