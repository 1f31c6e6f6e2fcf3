using Dmp.Store.Writing;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Dmp.Store.Inbox;
using Xunit.Abstractions;

namespace Dmp.Store.Tests;

public abstract class GroupCommitWriterTests(ITestOutputHelper output)
{
    /// <summary>Opens a store on the provider under test.</summary>
    private protected abstract Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null);

    /// <summary>The writer connection's durability settings this provider must report.</summary>
    private protected abstract string ExpectedDurability { get; }

    /// <summary>A connection that shares nothing with the store's own (no pool).</summary>
    private protected abstract Task<System.Data.Common.DbConnection> OpenIndependentConnectionAsync(TestStore store);

    private const string Sender = "mllp/GAM|CHU-X";

    [Fact]
    public async Task Resent_message_gets_same_ack_and_is_stored_once()
    {
        await using var t = await OpenStoreAsync();
        var frame = Frames.Make(Sender, "MSG001", Frames.Hl7("MSG001"));

        var first = await t.AcceptAsync(frame);
        var decideCalls = 0;
        var second = await t.Writer.AppendAsync(
            frame with { ReceivedAt = Frames.T0.AddMinutes(5) },
            ctx => { decideCalls++; return Decisions.Accept(ctx); },
            CancellationToken.None);

        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(0, decideCalls);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(first.Ack, second.Ack);
        Assert.Equal("AA", second.AckCode);
        Assert.Equal(InboxStatus.Accepted, second.Status);
        Assert.Equal(2, second.Receipts);

        var page = await t.Queries.ListAsync(new InboxFilter(), 10, null, CancellationToken.None);
        var stored = Assert.Single(page.Items);
        Assert.Equal(2, stored.Receipts);
        Assert.Equal(Frames.T0, stored.ReceivedAt);
        Assert.Equal(Frames.T0.AddMinutes(5), stored.LastReceivedAt);
        var detail = await t.Queries.GetAsync(first.Id, CancellationToken.None);
        Assert.Equal(
            [InboxHistoryDetail.Received, InboxHistoryDetail.Resent],
            detail!.History.Select(h => h.Detail));
    }

    [Fact]
    public async Task Same_control_id_with_different_bytes_is_a_new_message_warned_as_control_id_reused()
    {
        await using var t = await OpenStoreAsync();
        var first = await t.AcceptAsync(Frames.Make(Sender, "MSG001", Frames.Hl7("MSG001")));
        InboxDecisionContext? seen = null;

        var second = await t.Writer.AppendAsync(
            Frames.Make(Sender, "MSG001", Frames.Hl7("MSG001", "^CHANGED")),
            ctx => { seen = ctx; return Decisions.Accept(ctx) with { Warnings = [] }; },
            CancellationToken.None);

        Assert.False(second.Duplicate);
        Assert.NotEqual(first.Id, second.Id);
        Assert.True(seen!.ControlIdReused);
        Assert.Equal(first.Id, seen.PreviousIdWithSameControlId);
        Assert.Equal([InboxWarnings.ControlIdReused], second.Warnings);
        var stored = (await t.Queries.GetAsync(second.Id, CancellationToken.None))!.Message;
        Assert.Equal([InboxWarnings.ControlIdReused], stored.Warnings);
        Assert.Empty((await t.Queries.GetAsync(first.Id, CancellationToken.None))!.Message.Warnings);
    }

    [Fact(Timeout = 60_000)]
    public async Task Frames_committed_in_one_group_each_find_what_they_would_find_alone()
    {
        // On PostgreSQL the look-ups of a group's frames are one statement made before any of them is written (a frame
        // sharing its sender and control id with another of the group looks up at its turn): each case is here in one group.
        await using var t = await OpenStoreAsync();
        var stored = await t.AcceptAsync(Frames.Make(Sender, "OLD1", Frames.Hl7("OLD1")));
        var reused = await t.AcceptAsync(Frames.Make(Sender, "OLD2", Frames.Hl7("OLD2")));
        // The writer is held inside a transaction of its own while the seven frames queue: they are its next group.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = t.Writer.RunInWriteTransactionAsync((_, _) => { holding.TrySetResult(); return gate.Task; }, CancellationToken.None);
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, InboxDecisionContext>();
        Task<InboxReceipt> Append(string name, InboundFrame frame) =>
            t.Writer.AppendAsync(frame, ctx => { seen[name] = ctx; return Decisions.Accept(ctx); }, CancellationToken.None);

        var resendTask = Append("resend", Frames.Make(Sender, "OLD1", Frames.Hl7("OLD1")));
        var reuseTask = Append("reuse", Frames.Make(Sender, "OLD2", Frames.Hl7("OLD2", "^CHANGED")));
        var freshTask = Append("fresh", Frames.Make(Sender, "NEW1", Frames.Hl7("NEW1")));
        var twiceFirstTask = Append("twice1", Frames.Make(Sender, "NEW2", Frames.Hl7("NEW2")));
        var twiceAgainTask = Append("twice2", Frames.Make(Sender, "NEW2", Frames.Hl7("NEW2")));
        var twiceOtherTask = Append("twice3", Frames.Make(Sender, "NEW2", Frames.Hl7("NEW2", "^OTHER")));
        var otherSenderTask = Append("other", Frames.Make("mllp/LAB|LAB-Y", "OLD1", Frames.Hl7("OLD1")));
        await Task.Delay(50);
        Assert.False(freshTask.IsCompleted);
        var transactions = t.Writer.Transactions;
        gate.SetResult();
        await held;
        await Task.WhenAll(resendTask, reuseTask, freshTask, twiceFirstTask, twiceAgainTask, twiceOtherTask, otherSenderTask).WaitAsync(TimeSpan.FromSeconds(30));
        var resend = await resendTask;
        var reuse = await reuseTask;
        var fresh = await freshTask;
        var twiceFirst = await twiceFirstTask;
        var twiceAgain = await twiceAgainTask;
        var twiceOther = await twiceOtherTask;
        var otherSender = await otherSenderTask;

        Assert.Equal(transactions + 2, t.Writer.Transactions); // the holding one, then the seven frames in one

        Assert.True(resend.Duplicate);
        Assert.Equal((stored.Id, 2), (resend.Id, resend.Receipts));
        Assert.False(seen.ContainsKey("resend"));
        Assert.False(reuse.Duplicate);
        Assert.Equal(reused.Id, seen["reuse"].PreviousIdWithSameControlId);
        Assert.Equal([InboxWarnings.ControlIdReused], reuse.Warnings);
        Assert.False(fresh.Duplicate);
        Assert.False(seen["fresh"].ControlIdReused);
        Assert.Empty(fresh.Warnings);
        Assert.False(seen["twice1"].ControlIdReused);
        Assert.True(twiceAgain.Duplicate);
        Assert.False(seen.ContainsKey("twice2")); // recognised as a resend before any decision
        Assert.Equal((twiceFirst.Id, 2), (twiceAgain.Id, twiceAgain.Receipts));
        Assert.Equal(twiceFirst.Ack, twiceAgain.Ack);
        Assert.Equal(twiceFirst.Id, seen["twice3"].PreviousIdWithSameControlId);
        Assert.NotEqual(twiceFirst.Id, twiceOther.Id);
        Assert.False(otherSender.Duplicate);
        Assert.False(seen["other"].ControlIdReused);

        // Stored once each, with their first history line.
        var page = await t.Queries.ListAsync(new InboxFilter(), 20, null, CancellationToken.None);
        Assert.Equal(7, page.Items.Count);
        foreach (var id in new[] { reuse.Id, fresh.Id, twiceOther.Id, otherSender.Id })
            Assert.Equal([InboxHistoryDetail.Received], (await t.Queries.GetAsync(id, CancellationToken.None))!.History.Select(h => h.Detail));
        Assert.Equal(
            [InboxHistoryDetail.Received, InboxHistoryDetail.Resent],
            (await t.Queries.GetAsync(twiceFirst.Id, CancellationToken.None))!.History.Select(h => h.Detail));
    }

    [Fact]
    public async Task A_control_id_reused_by_another_sender_is_not_a_reuse()
    {
        await using var t = await OpenStoreAsync();
        await t.AcceptAsync(Frames.Make(Sender, "MSG001", Frames.Hl7("MSG001")));
        InboxDecisionContext? seen = null;

        var other = await t.Writer.AppendAsync(
            Frames.Make("mllp/LAB|LAB-Y", "MSG001", Frames.Hl7("MSG001")),
            ctx => { seen = ctx; return Decisions.Accept(ctx); },
            CancellationToken.None);

        Assert.False(other.Duplicate);
        Assert.False(seen!.ControlIdReused);
        Assert.Null(seen.PreviousIdWithSameControlId);
    }

    [Fact]
    public async Task Without_control_id_the_key_is_sender_and_hash()
    {
        await using var t = await OpenStoreAsync();
        var bytes = Encoding.ASCII.GetBytes("not HL7 at all");
        var reused = new List<bool>();
        InboxDecision Reject(InboxDecisionContext ctx)
        {
            reused.Add(ctx.ControlIdReused);
            return new InboxDecision(InboxStatus.Rejected, "not HL7", [], Encoding.ASCII.GetBytes(Guid.NewGuid().ToString()), "AR");
        }

        var a = await t.Writer.AppendAsync(Frames.Make(Sender, null, bytes), Reject, CancellationToken.None);
        var again = await t.Writer.AppendAsync(Frames.Make(Sender, null, bytes), Reject, CancellationToken.None);
        var different = await t.Writer.AppendAsync(Frames.Make(Sender, null, "other junk"), Reject, CancellationToken.None);
        var otherSender = await t.Writer.AppendAsync(Frames.Make("sftp/drop", null, bytes), Reject, CancellationToken.None);

        Assert.True(again.Duplicate);
        Assert.Equal(a.Id, again.Id);
        Assert.Equal(a.Ack, again.Ack);
        Assert.Equal(InboxStatus.Rejected, again.Status);
        Assert.False(different.Duplicate);
        Assert.False(otherSender.Duplicate);
        Assert.Equal([false, false, false], reused);
        var stored = (await t.Queries.GetAsync(a.Id, CancellationToken.None))!.Message;
        Assert.Null(stored.ControlId);
        Assert.Equal("not HL7", stored.Error);
        Assert.Equal("AR", stored.AckCode);
    }

    [Fact]
    public async Task Concurrent_appends_are_each_stored_once_in_grouped_transactions()
    {
        await using var t = await OpenStoreAsync();
        const int Tasks = 8, PerTask = 200;
        var clock = Stopwatch.StartNew();

        var receipts = await Task.WhenAll(Enumerable.Range(0, Tasks).Select(task => Task.Run(async () =>
        {
            var mine = new List<InboxReceipt>();
            for (var i = 0; i < PerTask; i++)
            {
                var id = $"T{task}-{i}";
                mine.Add(await t.AcceptAsync(Frames.Make($"mllp/S{task}|F", id, Frames.Hl7(id))));
            }

            return mine;
        })));
        clock.Stop();

        var all = receipts.SelectMany(r => r).ToList();
        Assert.Equal(Tasks * PerTask, all.Count);
        Assert.All(all, r => Assert.False(r.Duplicate));
        Assert.Equal(Tasks * PerTask, all.Select(r => r.Id).Distinct().Count());
        Assert.Equal(Tasks * PerTask, t.Writer.FramesWritten);
        Assert.True(t.Writer.Transactions < Tasks * PerTask, $"{t.Writer.Transactions} transactions for {Tasks * PerTask} frames");
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        Assert.Equal(Tasks * PerTask, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbound_message"));
        output.WriteLine(
            $"{Tasks}x{PerTask} appends: {clock.Elapsed.TotalMilliseconds:F0} ms, {all.Count / clock.Elapsed.TotalSeconds:F0} frames/s, "
            + $"{t.Writer.Transactions} transactions ({(double)all.Count / t.Writer.Transactions:F1} frames per commit)");
    }

    [Fact]
    public async Task A_resend_storm_stores_each_frame_once_with_every_receipt_counted()
    {
        await using var t = await OpenStoreAsync();
        const int Messages = 300, Copies = 3;
        var frames = Enumerable.Range(0, Messages)
            .Select(i => Frames.Make(Sender, $"M{i}", Frames.Hl7($"M{i}")))
            .ToList();

        var receipts = await Task.WhenAll(Enumerable.Range(0, Copies)
            .SelectMany(_ => frames)
            .Select(f => Task.Run(() => t.AcceptAsync(f))));

        Assert.Equal(Messages, receipts.Count(r => !r.Duplicate));
        foreach (var group in receipts.GroupBy(r => r.Id))
        {
            Assert.Equal(Copies, group.Count());
            Assert.Single(group.Select(r => Convert.ToHexString(r.Ack!)).Distinct());
            Assert.Equal(Enumerable.Range(1, Copies), group.Select(r => r.Receipts).Order());
        }

        var items = new List<InboundMessageSummary>();
        string? cursor = null;
        do
        {
            var page = await t.Queries.ListAsync(new InboxFilter(), 1000, cursor, CancellationToken.None);
            items.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(Messages, items.Count);
        Assert.All(items, m => Assert.Equal(Copies, m.Receipts));
    }

    [Fact]
    public async Task Two_stores_on_one_database_never_both_insert_the_same_frame()
    {
        await using var a = await OpenStoreAsync();
        await using var b = await a.OpenSecondInstanceAsync();
        var frames = Enumerable.Range(0, 200).Select(i => Frames.Make(Sender, $"M{i}", Frames.Hl7($"M{i}"))).ToList();

        var receipts = await Task.WhenAll(frames.SelectMany(f => new[]
        {
            Task.Run(() => a.AcceptAsync(f)),
            Task.Run(() => b.Writer.AppendAsync(f, Decisions.Accept, CancellationToken.None)),
        }));

        Assert.Equal(200, receipts.Count(r => !r.Duplicate));
        Assert.All(receipts.GroupBy(r => r.Id), g => Assert.Single(g.Select(r => Convert.ToHexString(r.Ack!)).Distinct()));
        var page = await a.Queries.ListAsync(new InboxFilter(), 1000, null, CancellationToken.None);
        Assert.Equal(200, page.Items.Count);
        Assert.All(page.Items, m => Assert.Equal(2, m.Receipts));
    }

    [Fact]
    public async Task A_decide_that_throws_fails_only_its_own_frame()
    {
        await using var t = await OpenStoreAsync(o => o.MaxBatch = 1000);
        var frames = Enumerable.Range(0, 50).Select(i => Frames.Make(Sender, $"M{i}", Frames.Hl7($"M{i}"))).ToList();

        var appends = frames.Select(f => t.Writer.AppendAsync(
            f,
            ctx => ctx.Frame.ControlId == "M7" ? throw new InvalidOperationException("boom") : Decisions.Accept(ctx),
            CancellationToken.None)).ToList();
        var wrongStatus = t.Writer.AppendAsync(
            Frames.Make(Sender, "BAD", Frames.Hl7("BAD")),
            ctx => Decisions.Accept(ctx) with { Status = InboxStatus.Processed },
            CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => appends[7]);
        Assert.Equal("boom", error.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => wrongStatus);
        for (var i = 0; i < frames.Count; i++)
        {
            if (i != 7)
            {
                Assert.False((await appends[i]).Duplicate);
            }
        }

        var page = await t.Queries.ListAsync(new InboxFilter(), 100, null, CancellationToken.None);
        Assert.Equal(49, page.Items.Count);
        Assert.DoesNotContain(page.Items, m => m.ControlId is "M7" or "BAD");

        // The frame that failed is not remembered: sent again, it is decided afresh.
        var retried = await t.AcceptAsync(frames[7]);
        Assert.False(retried.Duplicate);
    }

    [Fact]
    public async Task A_failing_work_item_rolls_back_only_its_own_statements()
    {
        await using var t = await OpenStoreAsync();
        var stored = await t.AcceptAsync(Frames.Make(Sender, "W0", Frames.Hl7("W0")));

        var frames = Enumerable.Range(1, 20).Select(i => t.AcceptAsync(Frames.Make(Sender, $"W{i}", Frames.Hl7($"W{i}")))).ToList();
        var failing = t.Writer.RunInWriteTransactionAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("UPDATE inbound_message SET error = 'not kept' WHERE id = @Id;", new { stored.Id }, transaction);
            throw new InvalidOperationException("the work failed");
        }, CancellationToken.None);
        var succeeding = t.Writer.RunInWriteTransactionAsync(
            (connection, transaction) => connection.ExecuteAsync(
                "UPDATE inbound_message SET warnings = '[\"kept\"]' WHERE id = @Id;", new { stored.Id }, transaction),
            CancellationToken.None);

        Assert.Equal("the work failed", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing)).Message);
        await succeeding;
        Assert.All(await Task.WhenAll(frames), r => Assert.False(r.Duplicate));
        await using var admin = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var row = await admin.QuerySingleAsync<(string? Error, string Warnings)>(
            "SELECT error, warnings FROM inbound_message WHERE id = @Id;", new { stored.Id });
        Assert.Equal<(string?, string)>((null, "[\"kept\"]"), row);
        Assert.Equal(21, await admin.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbound_message;"));
        Assert.Equal(21, t.Writer.FramesWritten);
    }

    [Fact(Timeout = 60_000)]
    public async Task Frames_waiting_are_committed_before_bulk_work_and_between_two_bulk_items()
    {
        await using var t = await OpenStoreAsync();
        // Each bulk item (a processing chunk) looks, inside its own transaction, at which frames were committed before it.
        static Task<long> FramesSeen(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction) =>
            connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbound_message WHERE control_id IN ('P1', 'P2');", transaction: transaction);

        // The writer is held by a short write while two bulk items and then a frame are queued.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = t.Writer.RunInWriteTransactionAsync((_, _) => gate.Task, CancellationToken.None);
        var firstBulkRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirstBulk = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long seenByFirst = -1, seenBySecond = -1;
        var bulk1 = t.Writer.RunBulkWriteTransactionAsync(async (connection, transaction) =>
        {
            seenByFirst = await FramesSeen(connection, transaction);
            firstBulkRunning.TrySetResult();
            await releaseFirstBulk.Task;
        }, CancellationToken.None);
        var bulk2 = t.Writer.RunBulkWriteTransactionAsync(
            async (connection, transaction) => seenBySecond = await FramesSeen(connection, transaction), CancellationToken.None);
        try
        {
            await HeldThenReleasedAsync();
        }
        finally
        {
            // Whatever failed above, the writer is let go: disposing the store waits for it.
            gate.TrySetResult();
            releaseFirstBulk.TrySetResult();
        }

        Assert.Equal(1, seenByFirst);
        Assert.Equal(2, seenBySecond);
        Assert.Equal(2, t.Writer.FramesWritten);

        async Task HeldThenReleasedAsync()
        {
            var frame1 = t.AcceptAsync(Frames.Make(Sender, "P1", Frames.Hl7("P1")));
            await Task.Delay(50);
            Assert.False(frame1.IsCompleted);
            gate.SetResult();
            await held;

            // The frame queued after both bulk items was committed before the first; a frame arriving while the first runs is
            // committed before the second.
            await firstBulkRunning.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await frame1.WaitAsync(TimeSpan.FromSeconds(30));
            var frame2 = t.AcceptAsync(Frames.Make(Sender, "P2", Frames.Hl7("P2")));
            await Task.Delay(50);
            Assert.False(frame2.IsCompleted);
            Assert.False(bulk2.IsCompleted);
            releaseFirstBulk.SetResult();
            await Task.WhenAll(bulk1, bulk2, frame2).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task A_failed_transaction_faults_its_batch_and_the_writer_keeps_running()
    {
        await using var t = await OpenStoreAsync();
        await t.AcceptAsync(Frames.Make(Sender, "BEFORE", Frames.Hl7("BEFORE")));
        await using (var admin = await t.Store.Connections.OpenAsync(CancellationToken.None))
        {
            await admin.ExecuteAsync("ALTER TABLE inbound_message_history RENAME TO hidden_history");
        }

        await Assert.ThrowsAnyAsync<Exception>(() => t.AcceptAsync(Frames.Make(Sender, "LOST", Frames.Hl7("LOST"))));

        await using (var admin = await t.Store.Connections.OpenAsync(CancellationToken.None))
        {
            await admin.ExecuteAsync("ALTER TABLE hidden_history RENAME TO inbound_message_history");
        }

        var after = await t.AcceptAsync(Frames.Make(Sender, "AFTER", Frames.Hl7("AFTER")));
        Assert.False(after.Duplicate);
        var page = await t.Queries.ListAsync(new InboxFilter(), 10, null, CancellationToken.None);
        Assert.Equal(["AFTER", "BEFORE"], page.Items.Select(m => m.ControlId));
    }

    [Fact]
    public async Task Raw_bytes_over_the_inline_limit_go_to_the_blob_folder_and_read_back_identical()
    {
        await using var t = await OpenStoreAsync(o => o.InlineRawMaxBytes = 1024);
        var big = new byte[200_000];
        new Random(42).NextBytes(big);
        var small = Encoding.ASCII.GetBytes(Frames.Hl7("SMALL"));

        var bigReceipt = await t.AcceptAsync(Frames.Make(Sender, "BIG", big));
        var smallReceipt = await t.AcceptAsync(Frames.Make(Sender, "SMALL", small));

        var key = Convert.ToHexStringLower(SHA256.HashData(big));
        Assert.True(File.Exists(Path.Combine(t.Folder.Path, "blobs", key[..2], key[2..4], key)));
        Assert.Equal(big, await t.Queries.GetRawAsync(bigReceipt.Id, CancellationToken.None));
        Assert.Equal(small, await t.Queries.GetRawAsync(smallReceipt.Id, CancellationToken.None));
        Assert.Null(await t.Queries.GetRawAsync(999_999, CancellationToken.None));
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var row = await connection.QuerySingleAsync<(byte[]? Raw, string? BlobKey)>(
            "SELECT raw, blob_key FROM inbound_message WHERE id = @Id", new { bigReceipt.Id });
        Assert.Null(row.Raw);
        Assert.Equal(key, row.BlobKey);
    }

    [Fact]
    public async Task An_oversize_frame_keeps_its_first_bytes_original_length_and_hash()
    {
        await using var t = await OpenStoreAsync();
        var original = new byte[20 * 1024 * 1024];
        new Random(7).NextBytes(original);
        var frame = Frames.Make(Sender, null, original) with
        {
            Raw = original.AsMemory(0, 64 * 1024),
            Truncated = true,
        };

        var receipt = await t.Writer.AppendAsync(
            frame,
            _ => new InboxDecision(InboxStatus.Rejected, "frame larger than 16 MiB", [], Encoding.ASCII.GetBytes("NACK"), "AR"),
            CancellationToken.None);

        var stored = (await t.Queries.GetAsync(receipt.Id, CancellationToken.None))!.Message;
        Assert.True(stored.Truncated);
        Assert.Equal(original.Length, stored.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(original)), stored.Sha256Hex);
        Assert.Equal(InboxStatus.Rejected, stored.Status);
        Assert.Equal(original.AsSpan(0, 64 * 1024).ToArray(), await t.Queries.GetRawAsync(receipt.Id, CancellationToken.None));
        var resent = await t.Writer.AppendAsync(frame, _ => throw new InvalidOperationException("not called"), CancellationToken.None);
        Assert.True(resent.Duplicate);
    }

    [Fact]
    public async Task A_committed_frame_is_visible_to_another_connection_when_append_returns()
    {
        await using var t = await OpenStoreAsync();

        var receipt = await t.AcceptAsync(Frames.Make(Sender, "DURABLE", Frames.Hl7("DURABLE")));

        Assert.Equal(ExpectedDurability, t.Writer.Durability);
        await using var other = await OpenIndependentConnectionAsync(t);
        Assert.Equal(
            "DURABLE",
            await other.ExecuteScalarAsync<string>("SELECT control_id FROM inbound_message WHERE id = @Id", new { receipt.Id }));
    }

    [Fact]
    public async Task Disposing_writes_what_is_queued_then_refuses_new_frames()
    {
        var t = await OpenStoreAsync();
        try
        {
            var queued = Enumerable.Range(0, 100)
                .Select(i => t.AcceptAsync(Frames.Make(Sender, $"Q{i}", Frames.Hl7($"Q{i}"))))
                .ToList();

            await t.Writer.DisposeAsync();

            Assert.All(await Task.WhenAll(queued), r => Assert.False(r.Duplicate));
            await Assert.ThrowsAsync<ObjectDisposedException>(
                () => t.AcceptAsync(Frames.Make(Sender, "LATE", Frames.Hl7("LATE"))));
            var page = await t.Queries.ListAsync(new InboxFilter(), 1000, null, CancellationToken.None);
            Assert.Equal(100, page.Items.Count);
        }
        finally
        {
            await t.DisposeAsync();
        }
    }
}

/// <summary>The GroupCommitWriter suite on SQLite (the embedded default).</summary>
public sealed class SqliteGroupCommitWriterTests(ITestOutputHelper output) : GroupCommitWriterTests(output)
{
    private protected override Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) => TestStore.OpenAsync(configure);

    private protected override string ExpectedDurability => "journal_mode=wal;synchronous=2";

    private protected override async Task<System.Data.Common.DbConnection> OpenIndependentConnectionAsync(TestStore store)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(store.Folder.Path, "dmp.db")};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    private const string Sender = "mllp/GAM|CHU-X";

    // The writer connection's setting inside the caller's transaction: 2 = FULL (synced at commit), 1 = NORMAL (synced by a later commit).
    private static Task<long> Synchronous(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction) =>
        connection.ExecuteScalarAsync<long>("PRAGMA synchronous;", transaction: transaction);

    /// <summary>Holds the writer with a short write until the returned gate is set, so that what is queued meanwhile is taken together.</summary>
    private static (TaskCompletionSource Gate, Task Held) HoldWriter(TestStore t)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (gate, t.Writer.RunInWriteTransactionAsync((_, _) => gate.Task, CancellationToken.None));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_bulk_item_with_work_queued_behind_it_leaves_its_sync_to_the_next_commit_and_frames_always_sync()
    {
        await using var t = await OpenStoreAsync();
        var (gate, held) = HoldWriter(t);
        long first = -1, second = -1, shortWrite = -1;
        var bulk1 = t.Writer.RunBulkWriteTransactionAsync(async (c, tx) => first = await Synchronous(c, tx), CancellationToken.None);
        var bulk2 = t.Writer.RunBulkWriteTransactionAsync(async (c, tx) => second = await Synchronous(c, tx), CancellationToken.None);
        var write = t.Writer.RunInWriteTransactionAsync(async (c, tx) => shortWrite = await Synchronous(c, tx), CancellationToken.None);
        var frame = t.AcceptAsync(Frames.Make(Sender, "F1", Frames.Hl7("F1")));
        gate.SetResult();
        await Task.WhenAll(held, bulk1, bulk2, write, frame).WaitAsync(TimeSpan.FromSeconds(30));

        // The frame and the short write went first, synced; the first bulk item had the second behind it, which synced both.
        Assert.Equal(2, shortWrite);
        Assert.Equal(1, first);
        Assert.Equal(2, second);
        Assert.Equal(1, t.Writer.DeferredSyncs);

        long after = -1;
        await t.Writer.RunInWriteTransactionAsync(async (c, tx) => after = await Synchronous(c, tx), CancellationToken.None);
        Assert.Equal(2, after);
    }

    [Fact(Timeout = 60_000)]
    public async Task When_what_was_queued_behind_a_deferred_commit_is_cancelled_the_writer_syncs_before_it_waits()
    {
        await using var t = await OpenStoreAsync();
        var (gate, held) = HoldWriter(t);
        var running = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource();
        var bulk1 = t.Writer.RunBulkWriteTransactionAsync(async (c, tx) =>
        {
            running.SetResult(await Synchronous(c, tx));
            await release.Task;
        }, CancellationToken.None);
        var bulk2 = t.Writer.RunBulkWriteTransactionAsync((_, _) => Task.CompletedTask, cancel.Token);
        gate.SetResult();
        await held;
        try
        {
            Assert.Equal(1, await running.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            await cancel.CancelAsync();
        }
        finally
        {
            release.TrySetResult();
        }

        await bulk1.WaitAsync(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => bulk2);

        // Nothing follows the deferred commit: the writer commits the health probe's row, synced, before it waits.
        await using var other = await OpenIndependentConnectionAsync(t);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string? at;
        while ((at = await other.ExecuteScalarAsync<string>("SELECT at FROM health_probe WHERE id = 1;")) is "" or null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.False(string.IsNullOrEmpty(at), "the writer did not sync after a deferred commit that nothing followed");
        Assert.Equal(1, t.Writer.DeferredSyncs);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_writer_connection_dropped_in_deferred_mode_goes_back_to_the_pool_synced_at_commit()
    {
        await using var t = await OpenStoreAsync();
        var (gate, held) = HoldWriter(t);
        // The first bulk item (the second behind it: deferred) ends the writer's transaction behind its back, so that
        // transaction fails and the writer drops its connection while it is switched to deferred syncs.
        var bulk1 = t.Writer.RunBulkWriteTransactionAsync((c, tx) => c.ExecuteAsync("ROLLBACK;", transaction: tx), CancellationToken.None);
        var bulk2 = t.Writer.RunBulkWriteTransactionAsync((_, _) => Task.CompletedTask, CancellationToken.None);
        gate.SetResult();
        await held;
        await Assert.ThrowsAnyAsync<Exception>(() => bulk1);
        await bulk2.WaitAsync(TimeSpan.FromSeconds(30));

        // Whichever pooled connection the store hands out now — the dropped writer's among them — commits synced.
        var connections = new List<System.Data.Common.DbConnection>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                connections.Add(await t.Store.Connections.OpenAsync(CancellationToken.None));
            }

            foreach (var connection in connections)
            {
                Assert.Equal(2, await connection.ExecuteScalarAsync<long>("PRAGMA synchronous;"));
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        Assert.False((await t.AcceptAsync(Frames.Make(Sender, "AFTER", Frames.Hl7("AFTER")))).Duplicate);
    }
}

/// <summary>The GroupCommitWriter suite on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresGroupCommitWriterTests(PostgresServer server, ITestOutputHelper output) : GroupCommitWriterTests(output)
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(await server.CreateDatabaseAsync(), configure);

    private protected override string ExpectedDurability => "fsync=on;synchronous_commit=on";

    private protected override async Task<System.Data.Common.DbConnection> OpenIndependentConnectionAsync(TestStore store)
    {
        var connection = new Npgsql.NpgsqlConnection(store.Options.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        return connection;
    }

    [Fact]
    public async Task A_processing_chunk_transaction_commits_without_waiting_for_the_flush_and_only_it()
    {
        await using var t = await OpenStoreAsync();
        var dialect = t.Store.Connections;
        await using var connection = await dialect.OpenAsync(CancellationToken.None);
        await using (var transaction = await dialect.BeginWriteAsync(connection, CancellationToken.None))
        {
            await dialect.DeferCommitSyncAsync(connection, transaction, CancellationToken.None);
            Assert.Equal("off", await connection.ExecuteScalarAsync<string>("SHOW synchronous_commit;", transaction: transaction));
            await transaction.CommitAsync();
        }

        // SET LOCAL: the pooled session goes on committing synced.
        Assert.Equal("on", await connection.ExecuteScalarAsync<string>("SHOW synchronous_commit;"));
    }
}
