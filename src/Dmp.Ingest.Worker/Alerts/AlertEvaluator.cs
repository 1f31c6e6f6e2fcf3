using Dmp.Ingest.Worker.Hosting;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Alerts;

/// <summary>
/// Every `Dmp:Alerts:EvaluateSeconds`: reads the inbox figures once (they also feed the inbox gauges), measures each
/// rule, moves its state machine and hands each transition to the <see cref="AlertNotifier"/>. A store that cannot be
/// read leaves every rule as it was until the next evaluation.
/// </summary>
public sealed class AlertEvaluator(
    StoreLifetime storeLifetime,
    IOptions<AlertsOptions> options,
    AlertBoard board,
    InboxSnapshots snapshots,
    InboxGauges gauges,
    Telemetry.CertificateExpiry certificates,
    AlertNotifier notifier,
    TimeProvider time,
    ILogger<AlertEvaluator> logger) : BackgroundService
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private InboxFigures? _figures;

    /// <summary>The gauges this evaluator feeds (created with it, so they exist from the start).</summary>
    public InboxGauges Gauges { get; } = gauges;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Hosted services start in order: the store holder before this evaluator.
        await Task.Yield();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.EvaluateSeconds), time);
        try
        {
            do
            {
                try
                {
                    await EvaluateOnceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(new EventId(7001, "AlertEvaluationFailed"),
                        "Alert evaluation failed ({Error}); rules keep their state until the next one", e.GetType().Name);
                    logger.LogDebug(e, "Alert evaluation failed");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One evaluation at the clock's now; returns the transitions it queued.</summary>
    public async Task<IReadOnlyList<AlertTransition>> EvaluateOnceAsync(CancellationToken cancellationToken)
    {
        var figures = _figures ??= new InboxFigures(storeLifetime.Store.Connections);
        var now = time.GetUtcNow();
        var snapshot = await snapshots.RefreshAsync(figures, now, cancellationToken);
        var silent = board.Rules.Where(r => r.Rule.When == AlertKinds.SenderSilent).Select(r => r.Rule.Sender!).ToList();
        var lastReceived = silent.Count == 0
            ? new Dictionary<string, DateTimeOffset>()
            : await figures.LastReceivedAsync(silent, cancellationToken);

        var transitions = new List<AlertTransition>();
        foreach (var state in board.Rules)
        {
            var value = await MeasureAsync(state.Rule, figures, snapshot, lastReceived, now, cancellationToken);
            if (state.Observe(value, now) is { } transition)
            {
                transitions.Add(transition);
                if (transition.Firing)
                {
                    logger.LogWarning(new EventId(7002, "AlertFiring"), "Alert {Alert} firing: {When} is {Value} (threshold {Threshold})",
                        transition.Rule.Name, transition.Rule.When, transition.Value, transition.Rule.Threshold);
                }
                else
                {
                    logger.LogInformation(new EventId(7003, "AlertResolved"), "Alert {Alert} resolved: {When} is {Value} (threshold {Threshold})",
                        transition.Rule.Name, transition.Rule.When, transition.Value, transition.Rule.Threshold);
                }
                notifier.Enqueue(transition);
            }
        }
        return transitions;
    }

    private async Task<double?> MeasureAsync(
        AlertRule rule, InboxFigures figures, InboxSnapshot snapshot, IReadOnlyDictionary<string, DateTimeOffset> lastReceived,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sender = rule.Sender;
        switch (rule.When)
        {
            case AlertKinds.InboxDepth:
                return sender is null ? snapshot.ByStatus[InboxStatus.Accepted] : await figures.CountAcceptedAsync(sender, cancellationToken);
            case AlertKinds.OldestAcceptedAge:
                return sender is null
                    ? snapshot.OldestAcceptedAgeSeconds
                    : InboxSnapshots.AgeSeconds(await figures.OldestAcceptedSinceAsync(sender, cancellationToken), now);
            case AlertKinds.FailedRate or AlertKinds.RejectedRate:
                var entries = sender is null
                    ? snapshot.LastMinute
                    : await figures.CountEnteredSinceAsync(now - InboxSnapshots.RateWindow, sender, cancellationToken);
                return rule.When == AlertKinds.FailedRate ? entries.Failed : entries.Rejected;
            case AlertKinds.SenderSilent:
                // A configured sender that never sent has been silent since this gateway started.
                return InboxSnapshots.AgeSeconds(lastReceived.TryGetValue(sender!, out var at) ? at : _startedAt, now);
            default:
                return certificates.DaysLeft(now);
        }
    }
}
