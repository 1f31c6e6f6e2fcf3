using Dapper;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>The figures the inbox gauges and the alert rules read, on every provider.</summary>
public abstract class InboxFiguresTests
{
    private const string Gam = "mllp/GAM|CHU-X";

    private protected abstract Task<TestStore> OpenStoreAsync();

    private static InboxFigures Figures(TestStore t) => new(t.Store.Connections);

    private static Task<InboxReceipt> Reject(TestStore t, InboundFrame frame) =>
        t.Writer.AppendAsync(frame, ctx => Decisions.Accept(ctx) with { Status = InboxStatus.Rejected, AckCode = "AR", Error = "unknown sender" }, CancellationToken.None);

    [Fact]
    public async Task Counts_per_status_name_every_status_and_follow_processing()
    {
        await using var t = await OpenStoreAsync();
        var empty = await Figures(t).CountByStatusAsync(CancellationToken.None);
        Assert.Equal(InboxStatus.All.Order(), empty.Keys.Order());
        Assert.All(empty.Values, v => Assert.Equal(0, v));

        for (var i = 0; i < 3; i++)
            await t.AcceptAsync(Frames.Make(Gam, $"A{i}", Frames.Hl7($"A{i}")));
        await Reject(t, Frames.Make(Gam, "R1", Frames.Hl7("R1")));
        var claimed = await t.Processing.ClaimAsync(1, CancellationToken.None);
        await t.Processing.CompleteAsync([new ProcessingResult(claimed[0].Id, InboxStatus.Failed, "boom")], CancellationToken.None);

        var counts = await Figures(t).CountByStatusAsync(CancellationToken.None);

        Assert.Equal(2, counts[InboxStatus.Accepted]);
        Assert.Equal(1, counts[InboxStatus.Failed]);
        Assert.Equal(1, counts[InboxStatus.Rejected]);
        Assert.Equal(0, counts[InboxStatus.Processed]);
        Assert.Equal(2, await Figures(t).CountAcceptedAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Accepted_counts_and_ages_can_be_narrowed_to_one_configured_sender()
    {
        await using var t = await OpenStoreAsync();
        await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1"), Frames.T0) with { SenderName = "gam" });
        await t.AcceptAsync(Frames.Make(Gam, "2", Frames.Hl7("2"), Frames.T0.AddMinutes(5)) with { SenderName = "lab" });
        await t.AcceptAsync(Frames.Make(Gam, "3", Frames.Hl7("3"), Frames.T0.AddMinutes(9)) with { SenderName = "lab" });

        Assert.Equal(2, await Figures(t).CountAcceptedAsync("lab", CancellationToken.None));
        Assert.Equal(0, await Figures(t).CountAcceptedAsync("nobody", CancellationToken.None));
        Assert.Equal(Frames.T0, await Figures(t).OldestAcceptedSinceAsync(null, CancellationToken.None));
        Assert.Equal(Frames.T0.AddMinutes(5), await Figures(t).OldestAcceptedSinceAsync("lab", CancellationToken.None));
        Assert.Null(await Figures(t).OldestAcceptedSinceAsync("nobody", CancellationToken.None));
    }

    [Fact]
    public async Task The_oldest_wait_counts_from_when_a_message_last_became_accepted_and_a_resend_does_not_restart_it()
    {
        await using var t = await OpenStoreAsync();
        Assert.Null(await Figures(t).OldestAcceptedSinceAsync(null, CancellationToken.None));
        var old = await t.AcceptAsync(Frames.Make(Gam, "OLD", Frames.Hl7("OLD"), Frames.T0));
        var waiting = await t.AcceptAsync(Frames.Make(Gam, "WAIT", Frames.Hl7("WAIT"), Frames.T0.AddHours(1)));
        // A resend of the waiting message, later: it has still waited since its first receipt.
        await t.AcceptAsync(Frames.Make(Gam, "WAIT", Frames.Hl7("WAIT"), Frames.T0.AddHours(2)));
        Assert.Equal(Frames.T0, await Figures(t).OldestAcceptedSinceAsync(null, CancellationToken.None));

        // The old one is processed, then replayed now: it waits since the replay request, not since its receipt.
        var claimed = await t.Processing.ClaimAsync(1, CancellationToken.None);
        Assert.Equal(old.Id, claimed[0].Id);
        await t.Processing.CompleteAsync([new ProcessingResult(old.Id, InboxStatus.Processed)], CancellationToken.None);
        Assert.Equal(Frames.T0.AddHours(1), await Figures(t).OldestAcceptedSinceAsync(null, CancellationToken.None));
        var beforeReplay = DateTimeOffset.UtcNow;
        Assert.True(await t.Processing.RequeueForReplayAsync(old.Id, CancellationToken.None));

        Assert.Equal(Frames.T0.AddHours(1), await Figures(t).OldestAcceptedSinceAsync(null, CancellationToken.None));
        Assert.Contains(waiting.Id, (await t.Processing.ClaimAsync(10, CancellationToken.None)).Select(m => m.Id));
        await t.Processing.CompleteAsync([new ProcessingResult(waiting.Id, InboxStatus.Processed)], CancellationToken.None);
        var replayed = await Figures(t).OldestAcceptedSinceAsync(null, CancellationToken.None);
        Assert.NotNull(replayed);
        Assert.InRange(replayed.Value, beforeReplay, DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task The_dashboard_counts_per_minute_by_ack_status_and_sender_and_failures_per_minute_without_resends()
    {
        await using var t = await OpenStoreAsync();
        var t0 = new DateTimeOffset(2025, 3, 14, 9, 26, 0, TimeSpan.Zero); // a minute's start
        // First, one that fails in processing (now), while it is the only one to claim.
        await t.AcceptAsync(Frames.Make(Gam, "F1", Frames.Hl7("F1"), t0.AddMinutes(3)));
        var claimed = Assert.Single(await t.Processing.ClaimAsync(10, CancellationToken.None));
        await t.Processing.CompleteAsync([new ProcessingResult(claimed.Id, InboxStatus.Failed, "no rule")], CancellationToken.None);
        var failedAt = DateTimeOffset.UtcNow;
        await t.AcceptAsync(Frames.Make(Gam, "OLD", Frames.Hl7("OLD"), t0.AddMinutes(-5)) with { SenderName = "lab" });
        await t.AcceptAsync(Frames.Make(Gam, "A1", Frames.Hl7("A1"), t0.AddSeconds(10)) with { SenderName = "lab" });
        await t.AcceptAsync(Frames.Make(Gam, "A2", Frames.Hl7("A2"), t0.AddSeconds(50)));
        await t.AcceptAsync(Frames.Make(Gam, "A3", Frames.Hl7("A3"), t0.AddSeconds(65)) with { SenderName = "lab" });
        await Reject(t, Frames.Make(Gam, "R1", Frames.Hl7("R1"), t0.AddSeconds(80)) with { SenderName = "lab" });
        await Reject(t, Frames.Make(Gam, "R1", Frames.Hl7("R1"), t0.AddSeconds(125)) with { SenderName = "lab" }); // a resend

        var received = await Figures(t).ReceivedPerMinuteAsync(t0, CancellationToken.None);
        var failed = await Figures(t).FailedPerMinuteAsync(t0, CancellationToken.None);

        long In(DateTimeOffset minute, Func<MinuteTraffic, bool>? which = null) =>
            received.Where(r => r.Minute == minute && (which ?? (_ => true))(r)).Sum(r => r.Count);
        Assert.Equal(5, received.Sum(r => r.Count)); // OLD is before the window; the resend is not a second message
        Assert.Equal(2, In(t0));
        Assert.Equal(1, In(t0, r => r.SenderName == "lab"));
        Assert.Equal(2, In(t0.AddMinutes(1)));
        Assert.Equal(1, In(t0.AddMinutes(1), r => r.Status == InboxStatus.Rejected && r.AckCode == "AR" && r.SenderName == "lab"));
        Assert.Equal(1, In(t0.AddMinutes(3), r => r.Status == InboxStatus.Failed));
        Assert.All(received, r => Assert.Equal(0, r.Minute.Second));

        Assert.Equal(1, failed.Where(f => f.Minute == t0.AddMinutes(1)).Sum(f => f.Count)); // the rejection, once
        var failureMinute = new DateTimeOffset(failedAt.Year, failedAt.Month, failedAt.Day, failedAt.Hour, failedAt.Minute, 0, TimeSpan.Zero);
        Assert.Equal(1, failed.Where(f => f.Minute == failureMinute || f.Minute == failureMinute.AddMinutes(-1)).Sum(f => f.Count));
        Assert.Equal(2, failed.Sum(f => f.Count));
        Assert.Empty(await Figures(t).ReceivedPerMinuteAsync(DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task Entries_into_failed_and_rejected_are_counted_from_an_instant_and_resends_are_not_entries()
    {
        await using var t = await OpenStoreAsync();
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < 3; i++)
            await Reject(t, Frames.Make(Gam, $"R{i}", Frames.Hl7($"R{i}"), start) with { SenderName = i == 0 ? "gam" : null });
        await Reject(t, Frames.Make(Gam, "R0", Frames.Hl7("R0"), start.AddSeconds(1)) with { SenderName = "gam" }); // a resend
        await Reject(t, Frames.Make(Gam, "OLD", Frames.Hl7("OLD"), start.AddMinutes(-10)));
        await t.AcceptAsync(Frames.Make(Gam, "F1", Frames.Hl7("F1"), start));
        var claimed = await t.Processing.ClaimAsync(10, CancellationToken.None);
        await t.Processing.CompleteAsync([new ProcessingResult(claimed[0].Id, InboxStatus.Failed, "no rule")], CancellationToken.None);

        Assert.Equal(new FinalEntries(1, 3), await Figures(t).CountEnteredSinceAsync(start.AddSeconds(-1), null, CancellationToken.None));
        Assert.Equal(new FinalEntries(0, 1), await Figures(t).CountEnteredSinceAsync(start.AddSeconds(-1), "gam", CancellationToken.None));
        Assert.Equal(new FinalEntries(1, 4), await Figures(t).CountEnteredSinceAsync(start.AddHours(-1), null, CancellationToken.None));
        Assert.Equal(new FinalEntries(0, 0), await Figures(t).CountEnteredSinceAsync(DateTimeOffset.UtcNow.AddSeconds(5), null, CancellationToken.None));
    }

    [Fact]
    public async Task The_last_message_of_each_configured_sender_includes_resends_and_omits_silent_senders()
    {
        await using var t = await OpenStoreAsync();
        await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1"), Frames.T0) with { SenderName = "gam" });
        await t.AcceptAsync(Frames.Make(Gam, "2", Frames.Hl7("2"), Frames.T0.AddMinutes(1)) with { SenderName = "gam" });
        await t.AcceptAsync(Frames.Make(Gam, "3", Frames.Hl7("3"), Frames.T0.AddMinutes(2)) with { SenderName = "lab" });
        await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1"), Frames.T0.AddMinutes(7)) with { SenderName = "gam" }); // resend
        await t.AcceptAsync(Frames.Make(Gam, "4", Frames.Hl7("4"), Frames.T0.AddMinutes(30)));

        var last = await Figures(t).LastReceivedAsync(["gam", "lab", "silent", "gam"], CancellationToken.None);

        Assert.Equal(2, last.Count);
        Assert.Equal(Frames.T0.AddMinutes(7), last["gam"]);
        Assert.Equal(Frames.T0.AddMinutes(2), last["lab"]);
    }
}

/// <summary>The InboxFigures suite on SQLite, with the plans that keep its figures index seeks.</summary>
public sealed class SqliteInboxFiguresTests : InboxFiguresTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();

    private static async Task<string> PlanAsync(TestStore t, string sql, object parameters)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var rows = await connection.QueryAsync<(long, long, long, string)>("EXPLAIN QUERY PLAN " + sql.TrimEnd(';'), parameters);
        return string.Join(" | ", rows.Select(r => r.Item4));
    }

    [Fact]
    public async Task The_rate_and_silence_figures_use_their_partial_indexes()
    {
        await using var t = await OpenStoreAsync();

        var rate = await PlanAsync(t, InboxFigures.EnteredSinceSql(bySender: false), new { Since = "2025", Resent = "resent", SenderName = (string?)null });
        var silence = await PlanAsync(t, InboxFigures.LastReceivedSql, new { SenderName = "gam" });

        var failedPerMinute = await PlanAsync(t, InboxFigures.FailedPerMinuteSql, new { Since = "2025", Resent = "resent" });
        var receivedPerMinute = await PlanAsync(t, InboxFigures.ReceivedPerMinuteSql, new { Since = "2025" });

        Assert.Contains("ix_inbound_message_history_final", rate, StringComparison.Ordinal);
        Assert.Contains("ix_inbound_message_history_final", failedPerMinute, StringComparison.Ordinal);
        Assert.Contains("ix_inbound_message_received_at", receivedPerMinute, StringComparison.Ordinal);
        Assert.Contains("ix_inbound_message_sender_name", silence, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", silence, StringComparison.Ordinal);
    }
}

/// <summary>The InboxFigures suite on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresInboxFiguresTests(PostgresServer server) : InboxFiguresTests
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
