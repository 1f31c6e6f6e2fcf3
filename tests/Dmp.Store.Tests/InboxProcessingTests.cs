using System.Text;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

public abstract class InboxProcessingTests
{
    /// <summary>Opens a store on the provider under test.</summary>
    private protected abstract Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null);

    private const string Gam = "mllp/GAM|CHU-X", Lab = "mllp/LAB|LAB-Y";

    [Fact]
    public async Task Claim_returns_the_oldest_accepted_messages_in_arrival_order_with_their_bytes()
    {
        await using var t = await OpenStoreAsync(o => o.InlineRawMaxBytes = 100);
        await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        await t.AcceptAsync(Frames.Make(Lab, "2", Frames.Hl7("2")));
        await t.Writer.AppendAsync(Frames.Make(Gam, "3", Frames.Hl7("3")),
            ctx => Decisions.Accept(ctx) with { Status = InboxStatus.Ignored }, CancellationToken.None);
        await t.Writer.AppendAsync(Frames.Make(Gam, "4", Frames.Hl7("4")),
            ctx => Decisions.Accept(ctx) with { Status = InboxStatus.Rejected }, CancellationToken.None);
        await t.AcceptAsync(Frames.Make(Gam, "5", Frames.Hl7("5")));
        await t.AcceptAsync(Frames.Make(Lab, "6", Frames.Hl7("6")));

        var claimed = await t.Processing.ClaimAsync(3, CancellationToken.None);

        Assert.Equal(["1", "2", "5"], claimed.Select(m => m.ControlId));
        Assert.Equal(Encoding.UTF8.GetBytes(Frames.Hl7("1")), claimed[0].Raw); // from the blob store (over 100 bytes)
        Assert.Equal(Gam, claimed[0].Sender);
        Assert.Equal(Frames.T0, claimed[0].ReceivedAt);
    }

    [Fact]
    public async Task A_sender_with_a_message_in_flight_is_skipped_until_it_completes()
    {
        await using var t = await OpenStoreAsync();
        await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        await t.AcceptAsync(Frames.Make(Gam, "2", Frames.Hl7("2")));
        await t.AcceptAsync(Frames.Make(Lab, "3", Frames.Hl7("3")));

        var first = await t.Processing.ClaimAsync(1, CancellationToken.None);
        var second = await t.Processing.ClaimAsync(10, CancellationToken.None);
        var third = await t.Processing.ClaimAsync(10, CancellationToken.None);
        await t.Processing.CompleteAsync([new ProcessingResult(first[0].Id, InboxStatus.Processed)], CancellationToken.None);
        var fourth = await t.Processing.ClaimAsync(10, CancellationToken.None);

        Assert.Equal(["1"], first.Select(m => m.ControlId));
        Assert.Equal(["3"], second.Select(m => m.ControlId));
        Assert.Empty(third);
        Assert.Equal(["2"], fourth.Select(m => m.ControlId));
        Assert.Equal(2, t.Processing.InFlight);
    }

    [Fact]
    public async Task Complete_records_status_error_warnings_and_history_for_many_messages()
    {
        await using var t = await OpenStoreAsync();
        var reused = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        reused = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1", "^AGAIN")));
        var other = await t.AcceptAsync(Frames.Make(Lab, "2", Frames.Hl7("2")));
        var claimed = await t.Processing.ClaimAsync(10, CancellationToken.None);
        Assert.Equal(3, claimed.Count);

        await t.Processing.CompleteAsync(
        [
            new ProcessingResult(claimed[0].Id, InboxStatus.Processed),
            new ProcessingResult(reused.Id, InboxStatus.Failed, "PID-3: no identifier", ["no-ins"]),
            new ProcessingResult(other.Id, InboxStatus.Held, null, null, "waiting for a qualified INS"),
        ], CancellationToken.None);

        var failed = (await t.Queries.GetAsync(reused.Id, CancellationToken.None))!;
        Assert.Equal(InboxStatus.Failed, failed.Message.Status);
        Assert.Equal("PID-3: no identifier", failed.Message.Error);
        Assert.Equal([InboxWarnings.ControlIdReused, "no-ins"], failed.Message.Warnings);
        Assert.Equal(
            [(InboxStatus.Accepted, InboxHistoryDetail.Received), (InboxStatus.Failed, "PID-3: no identifier")],
            failed.History.Select(h => (h.Status, h.Detail)));
        var held = (await t.Queries.GetAsync(other.Id, CancellationToken.None))!;
        Assert.Equal(InboxStatus.Held, held.Message.Status);
        Assert.Equal("waiting for a qualified INS", held.History[^1].Detail);
        Assert.Equal(InboxStatus.Processed, (await t.Queries.GetAsync(claimed[0].Id, CancellationToken.None))!.Message.Status);
        Assert.Empty(await t.Processing.ClaimAsync(10, CancellationToken.None));
        Assert.Equal(0, t.Processing.InFlight);
    }

    [Fact]
    public async Task Complete_refuses_accepted_as_an_outcome()
    {
        await using var t = await OpenStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            t.Processing.CompleteAsync([new ProcessingResult(1, InboxStatus.Accepted)], CancellationToken.None));
    }

    [Theory]
    [InlineData(InboxStatus.Failed, true)]
    [InlineData(InboxStatus.Held, true)]
    [InlineData(InboxStatus.Processed, true)]
    [InlineData(InboxStatus.Ignored, true)]
    [InlineData(InboxStatus.RefusedByPatient, false)]
    [InlineData(InboxStatus.Rejected, false)]
    [InlineData(InboxStatus.Accepted, false)]
    public async Task Replay_is_allowed_only_from_failed_held_processed_and_ignored(string status, bool allowed)
    {
        await using var t = await OpenStoreAsync();
        var receipt = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        if (status != InboxStatus.Accepted)
        {
            await t.Processing.ClaimAsync(1, CancellationToken.None);
            await t.Processing.CompleteAsync([new ProcessingResult(receipt.Id, status, "why")], CancellationToken.None);
        }

        var requeued = await t.Processing.RequeueForReplayAsync(receipt.Id, CancellationToken.None);

        Assert.Equal(allowed, requeued);
        var detail = (await t.Queries.GetAsync(receipt.Id, CancellationToken.None))!;
        if (allowed)
        {
            Assert.Equal(InboxStatus.Accepted, detail.Message.Status);
            Assert.Null(detail.Message.Error);
            Assert.Equal((InboxStatus.Accepted, InboxHistoryDetail.ReplayRequested), (detail.History[^1].Status, detail.History[^1].Detail));
            Assert.Equal([receipt.Id], (await t.Processing.ClaimAsync(10, CancellationToken.None)).Select(m => m.Id));
        }
        else
        {
            Assert.Equal(status, detail.Message.Status);
        }
    }

    [Fact]
    public async Task Replay_of_an_unknown_message_is_refused()
    {
        await using var t = await OpenStoreAsync();

        Assert.False(await t.Processing.RequeueForReplayAsync(42, CancellationToken.None));
    }

    [Fact]
    public async Task A_message_whose_blob_is_gone_is_failed_instead_of_claimed()
    {
        await using var t = await OpenStoreAsync(o => o.InlineRawMaxBytes = 10);
        var lost = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        await t.AcceptAsync(Frames.Make(Gam, "2", Frames.Hl7("2")));
        Assert.True(await t.Store.Blobs.DeleteAsync(Dmp.Store.Blobs.BlobKey.Of(Encoding.UTF8.GetBytes(Frames.Hl7("1"))), CancellationToken.None));

        var claimed = await t.Processing.ClaimAsync(10, CancellationToken.None);

        Assert.Equal(["2"], claimed.Select(m => m.ControlId));
        var failed = (await t.Queries.GetAsync(lost.Id, CancellationToken.None))!.Message;
        Assert.Equal(InboxStatus.Failed, failed.Status);
        Assert.Contains("missing", failed.Error, StringComparison.Ordinal);
    }
}

/// <summary>The InboxProcessing suite on SQLite (the embedded default).</summary>
public sealed class SqliteInboxProcessingTests : InboxProcessingTests
{
    private protected override Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) => TestStore.OpenAsync(configure);
}

/// <summary>The InboxProcessing suite on a real PostgreSQL server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresInboxProcessingTests(PostgresServer server) : InboxProcessingTests()
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(await server.CreateDatabaseAsync(), configure);
}
