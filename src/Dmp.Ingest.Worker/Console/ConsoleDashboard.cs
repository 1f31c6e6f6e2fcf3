using Dmp.Ingest.Worker.Alerts;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Store;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>One minute of the dashboard's chart.</summary>
public sealed record MinuteCounts(DateTimeOffset Minute, long Received, long Acked, long Failed);

/// <summary>A configured sender on the dashboard: its last message, its traffic and failures over the last hour.</summary>
public sealed record SenderRow(string Name, DateTimeOffset? Last, long LastHour, long FailedLastHour, bool Silent)
{
    public double? ErrorRate => LastHour == 0 ? null : (double)FailedLastHour / LastHour;
}

/// <summary>The dashboard's figures at one moment.</summary>
public sealed record DashboardView(
    DateTimeOffset At,
    IReadOnlyList<MinuteCounts> Minutes,
    long Waiting,
    double OldestWaitingSeconds,
    IReadOnlyDictionary<string, long> ByStatus,
    (double P50, double P99, int Count)? AckLatency,
    IReadOnlyList<AlertRuleSnapshot> Alerts,
    IReadOnlyList<SenderRow> Senders)
{
    /// <summary>Processing is waiting for a burst of arrivals to end (`Dmp:Processing:DeferAbovePerSecond`): why the queue grows.</summary>
    public bool ProcessingWaits { get; init; }
}

/// <summary>
/// Reads the dashboard: per-minute counts of the last hour from the inbox (received_at and ACK code on the indexed
/// received_at; failures from the history lines), the queue from <see cref="InboxFigures"/>, alerts from the evaluator's
/// <see cref="AlertBoard"/>, latency from <see cref="AckLatency"/>.
/// </summary>
public sealed class ConsoleDashboard(DmpStore store, AlertBoard alerts, InboxSnapshots snapshots, AckLatency latency, IOptions<MllpOptions> mllp, TimeProvider time,
    ProcessingWorker processing)
{
    /// <summary>A configured sender with no message for this long is shown as silent.</summary>
    public static readonly TimeSpan SilentAfter = TimeSpan.FromHours(1);

    public async Task<DashboardView> ReadAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var since = now - TimeSpan.FromHours(1);
        var figures = new InboxFigures(store.Connections);
        var waiting = await figures.CountAcceptedAsync(null, ct);
        var oldest = InboxSnapshots.AgeSeconds(await figures.OldestAcceptedSinceAsync(null, ct), now);

        var received = await figures.ReceivedPerMinuteAsync(since, ct);
        var failedAt = await figures.FailedPerMinuteAsync(since, ct);

        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-59);
        var minutes = Enumerable.Range(0, 60).Select(i => new long[3]).ToArray();
        int Slot(DateTimeOffset minute) => (int)Math.Floor((minute - start).TotalMinutes);
        foreach (var row in received)
        {
            var slot = Slot(row.Minute);
            if (slot is < 0 or >= 60)
                continue;
            minutes[slot][0] += row.Count;
            if (row.AckCode is "AA" or "CA")
                minutes[slot][1] += row.Count;
        }
        foreach (var (minute, count) in failedAt)
        {
            var slot = Slot(minute);
            if (slot is >= 0 and < 60)
                minutes[slot][2] += count;
        }

        var names = mllp.Value.Senders.Select(s => s.Name).Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.Ordinal).ToList();
        var last = await figures.LastReceivedAsync(names, ct);
        var senders = names.Select(name =>
        {
            var mine = received.Where(r => r.SenderName == name).ToList();
            var at = last.TryGetValue(name, out var l) ? l : (DateTimeOffset?)null;
            return new SenderRow(name, at, mine.Sum(r => r.Count), mine.Where(r => r.Status is InboxStatus.Failed or InboxStatus.Rejected).Sum(r => r.Count),
                at is null || now - at > SilentAfter);
        }).ToList();

        var snapshot = snapshots.Current;
        return new DashboardView(
            now,
            minutes.Select((m, i) => new MinuteCounts(start.AddMinutes(i), m[0], m[1], m[2])).ToList(),
            waiting,
            oldest,
            snapshot.ByStatus,
            latency.Percentiles(),
            alerts.Rules.Select(r => r.Snapshot()).Where(s => s.Phase != AlertPhase.Ok).ToList(),
            senders)
        {
            ProcessingWaits = processing.WaitingForBurst,
        };
    }
}
