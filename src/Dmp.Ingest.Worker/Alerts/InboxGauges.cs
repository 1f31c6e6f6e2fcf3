using System.Diagnostics.Metrics;

namespace Dmp.Ingest.Worker.Alerts;

/// <summary>
/// The inbox gauges on meter `Dmp.Ingest`: `dmp_inbox_messages{status}` and `dmp_inbox_oldest_accepted_age_seconds`
/// once exported to Prometheus. They report the snapshot the alert evaluator last read (every
/// `Dmp:Alerts:EvaluateSeconds`): a scrape, or a storm of them, never runs a query.
/// </summary>
public sealed class InboxGauges
{
    public const string MeterName = "Dmp.Ingest";

    public InboxGauges(IMeterFactory meters, InboxSnapshots snapshots)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(snapshots);
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge(
            "dmp.inbox.messages",
            () => snapshots.Current.ByStatus.Select(p => new Measurement<long>(p.Value, new KeyValuePair<string, object?>("status", p.Key))),
            unit: null,
            description: "Inbound messages per status, as last read by the alert evaluator.");
        meter.CreateObservableGauge(
            "dmp.inbox.oldest_accepted_age",
            () => snapshots.Current.OldestAcceptedAgeSeconds,
            unit: "s",
            description: "How long the longest-waiting accepted message has waited (0 when none waits).");
    }
}
