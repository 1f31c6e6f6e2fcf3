using Dapper;
using Dmp.Ingest.Worker.Alerts;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Store;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>One minute of the dashboard's chart.</summary>
public sealed record MinuteCounts(DateTimeOffset Minute, int Received, int Acked, int Failed);

/// <summary>A configured sender on the dashboard: its last message, its traffic and failures over the last hour.</summary>
public sealed record SenderRow(string Name, DateTimeOffset? Last, int LastHour, int FailedLastHour, bool Silent)
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
    IReadOnlyList<SenderRow> Senders);

/// <summary>
/// Reads the dashboard: per-minute counts of the last hour from the inbox (received_at and ACK code on the indexed
/// received_at; failures from the history lines), the queue from <see cref="InboxFigures"/>, alerts from the evaluator's
/// <see cref="AlertBoard"/>, latency from <see cref="AckLatency"/>.
/// </summary>
public sealed class ConsoleDashboard(DmpStore store, AlertBoard alerts, InboxSnapshots snapshots, AckLatency latency, IOptions<MllpOptions> mllp, TimeProvider time)
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

        List<(string ReceivedAt, string? AckCode, string Status, string? SenderName)> received;
        List<string> failedAt;
        var connection = await store.Connections.OpenAsync(ct);
        await using (connection)
        {
            received = (await connection.QueryAsync<(string, string?, string, string?)>(new CommandDefinition(
                "SELECT received_at, ack_code, status, sender_name FROM inbound_message WHERE received_at >= @Since;",
                new { Since = StoreTime.Write(since) }, cancellationToken: ct))).ToList();
            failedAt = (await connection.QueryAsync<string>(new CommandDefinition(
                $"SELECT h.at FROM inbound_message_history h WHERE h.status IN ('{InboxStatus.Failed}', '{InboxStatus.Rejected}') AND h.at >= @Since AND h.status = @Failed;",
                new { Since = StoreTime.Write(since), Failed = InboxStatus.Failed }, cancellationToken: ct))).ToList();
        }

        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(-59);
        var minutes = Enumerable.Range(0, 60).Select(i => new int[3]).ToArray();
        int Slot(DateTimeOffset at) => (int)Math.Floor((at - start).TotalMinutes);
        foreach (var row in received)
        {
            var slot = Slot(StoreTime.Read(row.ReceivedAt));
            if (slot is < 0 or >= 60)
                continue;
            minutes[slot][0]++;
            if (row.AckCode is "AA" or "CA")
                minutes[slot][1]++;
        }
        foreach (var at in failedAt)
        {
            var slot = Slot(StoreTime.Read(at));
            if (slot is >= 0 and < 60)
                minutes[slot][2]++;
        }

        var names = mllp.Value.Senders.Select(s => s.Name).Where(n => !string.IsNullOrEmpty(n)).Distinct(StringComparer.Ordinal).ToList();
        var last = await figures.LastReceivedAsync(names, ct);
        var senders = names.Select(name =>
        {
            var mine = received.Where(r => r.SenderName == name).ToList();
            var at = last.TryGetValue(name, out var l) ? l : (DateTimeOffset?)null;
            return new SenderRow(name, at, mine.Count, mine.Count(r => r.Status is InboxStatus.Failed or InboxStatus.Rejected), at is null || now - at > SilentAfter);
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
            senders);
    }
}
