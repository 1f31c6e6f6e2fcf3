using Dmp.Model.Apply;
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

    private static readonly HeldKey DraftUid = HeldKey.UniqueId("urn:ietf:rfc:3986", "urn:oid:1.2.250.1.213.1.1.1.29.2022.1.1");
    private static readonly HeldKey DraftSet = HeldKey.SetId("urn:ietf:rfc:3986", "urn:oid:1.2.250.1.213.1.1.1.29.2022.1");

    private static async Task<string[]> KeysOfAsync(TestStore t, long id)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        return (await Dapper.SqlMapper.QueryAsync<string>(connection,
            "SELECT document_key FROM held_document WHERE message_id = @Id ORDER BY document_key;", new { Id = id })).ToArray();
    }

    [Fact]
    public async Task A_held_result_records_its_document_keys()
    {
        await using var t = await OpenStoreAsync();
        var draft = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        await t.Processing.ClaimAsync(10, CancellationToken.None);

        await t.Processing.CompleteAsync(
            [new ProcessingResult(draft.Id, InboxStatus.Held, Detail: "document x is not validated", HeldDocumentKeys: [DraftUid, DraftSet, DraftUid])],
            CancellationToken.None);

        Assert.Equal(new[] { DraftSet.Text, DraftUid.Text }.Order(StringComparer.Ordinal), await KeysOfAsync(t, draft.Id));
        Assert.Equal(InboxStatus.Held, (await t.Queries.GetAsync(draft.Id, CancellationToken.None))!.Message.Status);
    }

    [Fact]
    public async Task A_validated_version_supersedes_held_drafts_by_set_or_replaced_id_and_leaves_the_others()
    {
        await using var t = await OpenStoreAsync();
        var bySet = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        var byUid = await t.AcceptAsync(Frames.Make(Lab, "2", Frames.Hl7("2")));
        var other = await t.AcceptAsync(Frames.Make(Gam, "3", Frames.Hl7("3")));
        var processedBefore = await t.AcceptAsync(Frames.Make(Lab, "4", Frames.Hl7("4")));
        Assert.Equal(4, (await t.Processing.ClaimAsync(10, CancellationToken.None)).Count);
        await t.Processing.CompleteAsync(
        [
            new ProcessingResult(bySet.Id, InboxStatus.Held, Detail: "draft v1", HeldDocumentKeys: [HeldKey.UniqueId("s", "v1"), DraftSet]),
            new ProcessingResult(byUid.Id, InboxStatus.Held, Detail: "draft without setId", HeldDocumentKeys: [DraftUid]),
            new ProcessingResult(other.Id, InboxStatus.Held, Detail: "another draft", HeldDocumentKeys: [HeldKey.UniqueId("s", "other"), HeldKey.SetId("s", "other")]),
            new ProcessingResult(processedBefore.Id, InboxStatus.Processed),
        ], CancellationToken.None);

        var validated = await t.AcceptAsync(Frames.Make(Gam, "5", Frames.Hl7("5")));
        await t.Processing.ClaimAsync(10, CancellationToken.None);
        await t.Processing.CompleteAsync(
            [new ProcessingResult(validated.Id, InboxStatus.Processed, Detail: "mapped", ValidatedDocumentKeys: [DraftSet, DraftUid])],
            CancellationToken.None);

        foreach (var draft in new[] { bySet, byUid })
        {
            var detail = (await t.Queries.GetAsync(draft.Id, CancellationToken.None))!;
            Assert.Equal(InboxStatus.Ignored, detail.Message.Status);
            Assert.Null(detail.Message.Error);
            Assert.Equal(
                (InboxStatus.Ignored, $"superseded by the validated version in message {validated.Id}; never entered the dossier"),
                (detail.History[^1].Status, detail.History[^1].Detail));
            Assert.Empty(await KeysOfAsync(t, draft.Id));
        }

        Assert.Equal(InboxStatus.Held, (await t.Queries.GetAsync(other.Id, CancellationToken.None))!.Message.Status);
        Assert.Equal(2, (await KeysOfAsync(t, other.Id)).Length);
        var untouched = (await t.Queries.GetAsync(processedBefore.Id, CancellationToken.None))!;
        Assert.Equal(InboxStatus.Processed, untouched.Message.Status);
        Assert.Equal(2, untouched.History.Count);
        Assert.Equal(InboxStatus.Processed, (await t.Queries.GetAsync(validated.Id, CancellationToken.None))!.Message.Status);
    }

    [Fact]
    public async Task A_draft_and_its_validated_version_in_one_batch_end_held_then_superseded()
    {
        await using var t = await OpenStoreAsync();
        var draft = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        var validated = await t.AcceptAsync(Frames.Make(Gam, "2", Frames.Hl7("2")));
        Assert.Equal(2, (await t.Processing.ClaimAsync(10, CancellationToken.None)).Count);

        await t.Processing.CompleteAsync(
        [
            new ProcessingResult(draft.Id, InboxStatus.Held, Detail: "draft", HeldDocumentKeys: [DraftUid, DraftSet]),
            new ProcessingResult(validated.Id, InboxStatus.Processed, ValidatedDocumentKeys: [DraftSet]),
        ], CancellationToken.None);

        var detail = (await t.Queries.GetAsync(draft.Id, CancellationToken.None))!;
        Assert.Equal(
            [(InboxStatus.Accepted, InboxHistoryDetail.Received), (InboxStatus.Held, "draft"), (InboxStatus.Ignored, InboxHistoryDetail.SupersededBy(validated.Id))],
            detail.History.Select(h => (h.Status, h.Detail)));
        Assert.Empty(await KeysOfAsync(t, draft.Id));
    }

    [Fact]
    public async Task A_replayed_held_message_keeps_only_the_keys_of_its_new_outcome()
    {
        await using var t = await OpenStoreAsync();
        var draft = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1")));
        await t.Processing.ClaimAsync(10, CancellationToken.None);
        await t.Processing.CompleteAsync([new ProcessingResult(draft.Id, InboxStatus.Held, HeldDocumentKeys: [DraftUid, DraftSet])], CancellationToken.None);

        Assert.True(await t.Processing.RequeueForReplayAsync(draft.Id, CancellationToken.None));
        Assert.Single(await t.Processing.ClaimAsync(10, CancellationToken.None));
        await t.Processing.CompleteAsync([new ProcessingResult(draft.Id, InboxStatus.Held, HeldDocumentKeys: [DraftUid, DraftSet])], CancellationToken.None);
        Assert.Equal(2, (await KeysOfAsync(t, draft.Id)).Length);

        Assert.True(await t.Processing.RequeueForReplayAsync(draft.Id, CancellationToken.None));
        Assert.Single(await t.Processing.ClaimAsync(10, CancellationToken.None));
        await t.Processing.CompleteAsync([new ProcessingResult(draft.Id, InboxStatus.Processed)], CancellationToken.None);
        Assert.Empty(await KeysOfAsync(t, draft.Id));
    }
}

/// <summary>The InboxProcessing suite on SQLite (the embedded default).</summary>
public sealed class SqliteInboxProcessingTests : InboxProcessingTests
{
    private protected override Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) => TestStore.OpenAsync(configure);
}

/// <summary>The InboxProcessing suite on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresInboxProcessingTests(PostgresServer server) : InboxProcessingTests()
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(await server.CreateDatabaseAsync(), configure);
}
