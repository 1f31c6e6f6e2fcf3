using Dmp.Ingest.Worker.Alerts;

namespace Dmp.Ingest.Worker.Tests.Alerts;

/// <summary>The state machine of one rule, on a clock the test moves: fire once, clear once, `For`, thresholds.</summary>
public sealed class AlertRuleStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static AlertRuleState Rule(string when = AlertKinds.InboxDepth, double threshold = 10, double forSeconds = 0) =>
        new(new AlertRule("r", when, threshold, TimeSpan.FromSeconds(forSeconds), null));

    [Fact]
    public void A_rule_fires_once_when_the_value_reaches_the_threshold_and_resolves_once_when_it_falls_below()
    {
        var state = Rule(threshold: 10);
        var clock = new ManualClock(T0);
        var transitions = new List<AlertTransition>();
        void Observe(double value)
        {
            if (state.Observe(value, clock.GetUtcNow()) is { } t)
                transitions.Add(t);
            clock.Advance(TimeSpan.FromSeconds(15));
        }

        Observe(9.99);
        Assert.Equal(AlertPhase.Ok, state.Snapshot().Phase);
        Observe(10); // reaching the threshold is enough (≥)
        var firingAt = T0.AddSeconds(15);
        for (var i = 0; i < 50; i++)
            Observe(10 + i); // a flood of messages: no further notification
        Observe(3);
        var resolvedAt = clock.GetUtcNow().AddSeconds(-15);
        for (var i = 0; i < 20; i++)
            Observe(0);

        Assert.Collection(transitions,
            f => Assert.Equal((true, 10d, firingAt), (f.Firing, f.Value!.Value, f.Since)),
            r => Assert.Equal((false, 3d, resolvedAt, "resolved"), (r.Firing, r.Value!.Value, r.Since, r.State)));
        var snapshot = state.Snapshot();
        Assert.Equal(AlertPhase.Ok, snapshot.Phase);
        Assert.Equal(resolvedAt, snapshot.Since);
    }

    [Fact]
    public void With_For_a_rule_is_pending_until_the_condition_has_held_that_long_and_fires_with_since_at_its_start()
    {
        var state = Rule(threshold: 5, forSeconds: 60);

        Assert.Null(state.Observe(7, T0));
        Assert.Equal(AlertPhase.Pending, state.Snapshot().Phase);
        Assert.Null(state.Observe(8, T0.AddSeconds(59)));
        var fired = state.Observe(6, T0.AddSeconds(60));

        Assert.NotNull(fired);
        Assert.True(fired.Firing);
        Assert.Equal(T0, fired.Since);
        Assert.Equal(6, fired.Value);
        Assert.Equal(AlertPhase.Firing, state.Snapshot().Phase);
        Assert.Equal(T0, state.Snapshot().Since);
    }

    [Fact]
    public void A_pending_rule_whose_condition_stops_holding_goes_back_to_ok_silently_and_starts_counting_afresh()
    {
        var state = Rule(threshold: 5, forSeconds: 60);

        Assert.Null(state.Observe(9, T0));
        Assert.Null(state.Observe(4, T0.AddSeconds(45))); // a dip before For: no notification at all
        Assert.Equal(AlertPhase.Ok, state.Snapshot().Phase);
        Assert.Null(state.Observe(9, T0.AddSeconds(50)));
        Assert.Null(state.Observe(9, T0.AddSeconds(100))); // 50 s since the condition came back
        var fired = state.Observe(9, T0.AddSeconds(110));

        Assert.NotNull(fired);
        Assert.Equal(T0.AddSeconds(50), fired.Since);
    }

    [Fact]
    public void A_rule_that_clears_and_comes_back_notifies_again_each_time()
    {
        var state = Rule(threshold: 1);
        var states = new[] { 1d, 0, 2, 0 }.Select((v, i) => state.Observe(v, T0.AddSeconds(i))?.State).ToList();

        Assert.Equal(["firing", "resolved", "firing", "resolved"], states);
    }

    [Theory]
    [InlineData(31, false)]
    [InlineData(30, true)]
    [InlineData(-2, true)]
    public void Certificate_expiry_fires_when_the_days_left_are_at_or_below_the_threshold(double daysLeft, bool fires)
    {
        var state = Rule(AlertKinds.CertificateExpiry, threshold: 30);

        var transition = state.Observe(daysLeft, T0);

        Assert.Equal(fires, transition?.Firing == true);
    }

    [Fact]
    public void Nothing_to_measure_never_fires_and_clears_a_firing_rule()
    {
        var state = Rule(AlertKinds.CertificateExpiry, threshold: 30);

        Assert.Null(state.Observe(null, T0));
        Assert.True(state.Observe(10, T0.AddSeconds(1))!.Firing);
        var cleared = state.Observe(null, T0.AddSeconds(2));

        Assert.False(cleared!.Firing);
        Assert.Null(cleared.Value);
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("", 0)]
    [InlineData("90", 90)]
    [InlineData("1.5", 1.5)]
    [InlineData("00:05:00", 300)]
    [InlineData("1.00:00:00", 86400)]
    public void For_is_seconds_or_a_duration(string? text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), AlertRule.ParseFor(text));

    [Theory]
    [InlineData("-1")]
    [InlineData("soon")]
    [InlineData("-00:01:00")]
    public void For_refuses_what_is_not_a_duration_of_zero_or_more(string text) => Assert.Null(AlertRule.ParseFor(text));

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan by) => _now += by;
    }
}
