namespace Dmp.Ingest.Worker.Alerts;

/// <summary>Where a rule stands: its condition does not hold, holds for less than `For`, or fires.</summary>
public enum AlertPhase
{
    Ok,
    Pending,
    Firing,
}

/// <summary>A change worth one notification: a rule started firing, or stopped.</summary>
/// <param name="Since">Firing: when the condition began to hold; resolved: when it stopped holding.</param>
public sealed record AlertTransition(AlertRule Rule, bool Firing, double? Value, DateTimeOffset Since)
{
    public string State => Firing ? "firing" : "resolved";
}

/// <summary>How the last notification of a rule went, per channel (null: channel not configured).</summary>
public sealed record AlertNotificationRecord(string State, DateTimeOffset At, string? Webhook, string? Email);

/// <summary>
/// One rule's state machine. Each evaluation observes a value: a rule whose value meets its threshold becomes
/// pending, and fires once it has met it for `For` (at once when `For` is 0); a firing rule resolves at the first
/// evaluation that does not meet it, and a pending one simply goes back to ok. Only the two edges, ok/pending →
/// firing and firing → ok, are transitions, so a rule notifies once when it fires and once when it clears,
/// however many messages or evaluations lie between. Thread-safe: the API reads while the evaluator writes.
/// </summary>
public sealed class AlertRuleState(AlertRule rule)
{
    private readonly Lock _gate = new();
    private AlertPhase _phase;
    private double? _value;
    private DateTimeOffset? _since;
    private DateTimeOffset? _evaluatedAt;
    private AlertNotificationRecord? _lastNotification;

    public AlertRule Rule { get; } = rule;

    /// <summary>
    /// Takes one evaluation's value (null: nothing to measure, e.g. no certificate configured — treated as not met)
    /// at <paramref name="now"/>; returns the transition to notify, if any.
    /// </summary>
    public AlertTransition? Observe(double? value, DateTimeOffset now)
    {
        lock (_gate)
        {
            _value = value;
            _evaluatedAt = now;
            var met = value is { } v && Rule.IsMetBy(v);
            switch (_phase)
            {
                case AlertPhase.Ok when met:
                    _phase = AlertPhase.Pending;
                    _since = now;
                    return FireIfHeld(now);
                case AlertPhase.Pending when met:
                    return FireIfHeld(now);
                case AlertPhase.Pending:
                    _phase = AlertPhase.Ok;
                    _since = null;
                    return null;
                case AlertPhase.Firing when !met:
                    _phase = AlertPhase.Ok;
                    _since = now;
                    return new AlertTransition(Rule, false, value, now);
                default:
                    return null;
            }
        }
    }

    private AlertTransition? FireIfHeld(DateTimeOffset now)
    {
        if (now - _since!.Value < Rule.For)
            return null;
        _phase = AlertPhase.Firing;
        return new AlertTransition(Rule, true, _value, _since.Value);
    }

    /// <summary>Records how a notification went, for `GET /api/alerts`.</summary>
    public void Notified(AlertNotificationRecord record)
    {
        lock (_gate)
            _lastNotification = record;
    }

    public AlertRuleSnapshot Snapshot()
    {
        lock (_gate)
            return new AlertRuleSnapshot(Rule, _phase, _value, _since, _evaluatedAt, _lastNotification);
    }
}

/// <summary>A rule's state at one moment.</summary>
/// <param name="Since">Pending or firing: when the condition began to hold; ok: when it last cleared (null if never).</param>
public sealed record AlertRuleSnapshot(
    AlertRule Rule, AlertPhase Phase, double? Value, DateTimeOffset? Since, DateTimeOffset? EvaluatedAt, AlertNotificationRecord? LastNotification);

/// <summary>The gateway's rules and their states, shared by the evaluator, the notifier and the API.</summary>
public sealed class AlertBoard(IReadOnlyList<AlertRule> rules)
{
    public IReadOnlyList<AlertRuleState> Rules { get; } = rules.Select(r => new AlertRuleState(r)).ToList();

    public AlertRuleState? Find(string name) => Rules.FirstOrDefault(r => r.Rule.Name == name);
}
