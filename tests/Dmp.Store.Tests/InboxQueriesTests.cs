using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

public abstract class InboxQueriesTests
{
    /// <summary>Opens a store on the provider under test.</summary>
    private protected abstract Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null);

    [Fact]
    public async Task Listing_pages_newest_first_with_a_cursor()
    {
        await using var t = await OpenStoreAsync();
        for (var i = 0; i < 25; i++)
        {
            await t.AcceptAsync(Frames.Make("mllp/GAM|CHU-X", $"M{i:00}", Frames.Hl7($"M{i:00}")));
        }

        var first = await t.Queries.ListAsync(new InboxFilter(), 10, null, CancellationToken.None);
        var second = await t.Queries.ListAsync(new InboxFilter(), 10, first.NextCursor, CancellationToken.None);
        var third = await t.Queries.ListAsync(new InboxFilter(), 10, second.NextCursor, CancellationToken.None);

        Assert.Equal(Enumerable.Range(15, 10).Reverse().Select(i => $"M{i:00}"), first.Items.Select(m => m.ControlId));
        Assert.Equal(Enumerable.Range(5, 10).Reverse().Select(i => $"M{i:00}"), second.Items.Select(m => m.ControlId));
        Assert.Equal(Enumerable.Range(0, 5).Reverse().Select(i => $"M{i:00}"), third.Items.Select(m => m.ControlId));
        Assert.NotNull(first.NextCursor);
        Assert.NotNull(second.NextCursor);
        Assert.Null(third.NextCursor);
    }

    [Fact]
    public async Task The_matched_sender_name_is_kept_beside_the_sender_and_is_not_part_of_the_identity()
    {
        await using var t = await OpenStoreAsync();
        var named = Frames.Make("mllp/LAB|LAB", "N1", Frames.Hl7("N1")) with { SenderName = "lab-a" };

        var first = await t.AcceptAsync(named);
        var resent = await t.AcceptAsync(named with { SenderName = "lab-b" });
        await t.AcceptAsync(Frames.Make("mllp/LAB|LAB", "N2", Frames.Hl7("N2")));

        Assert.True(resent.Duplicate);
        Assert.Equal(first.Id, resent.Id);
        var listed = (await t.Queries.ListAsync(new InboxFilter(), 10, null, CancellationToken.None)).Items;
        Assert.Equal([null, "lab-a"], listed.Select(m => m.SenderName));
        Assert.Equal("lab-a", (await t.Queries.GetAsync(first.Id, CancellationToken.None))!.Message.SenderName);
    }

    [Fact]
    public async Task A_page_that_ends_exactly_at_the_last_message_has_no_next_cursor()
    {
        await using var t = await OpenStoreAsync();
        for (var i = 0; i < 4; i++)
        {
            await t.AcceptAsync(Frames.Make("s", $"M{i}", Frames.Hl7($"M{i}")));
        }

        var page = await t.Queries.ListAsync(new InboxFilter(), 4, null, CancellationToken.None);

        Assert.Equal(4, page.Items.Count);
        Assert.Null(page.NextCursor);
    }

    [Fact]
    public async Task Listing_filters_by_sender_control_id_status_and_since()
    {
        await using var t = await OpenStoreAsync();
        const string Gam = "mllp/GAM|CHU-X", Lab = "mllp/LAB|LAB-Y";
        await t.AcceptAsync(Frames.Make(Gam, "A", Frames.Hl7("A"), Frames.T0));
        await t.AcceptAsync(Frames.Make(Lab, "A", Frames.Hl7("A"), Frames.T0.AddHours(1)));
        await t.Writer.AppendAsync(
            Frames.Make(Gam, "B", Frames.Hl7("B"), Frames.T0.AddHours(2)),
            ctx => Decisions.Accept(ctx) with { Status = InboxStatus.Ignored },
            CancellationToken.None);
        await t.AcceptAsync(Frames.Make(Gam, "C", Frames.Hl7("C"), Frames.T0.AddHours(3)));

        async Task<IEnumerable<string>> List(InboxFilter filter) =>
            (await t.Queries.ListAsync(filter, 100, null, CancellationToken.None)).Items.Select(m => $"{m.Sender[5..8]}:{m.ControlId}");

        Assert.Equal(["GAM:C", "GAM:B", "GAM:A"], await List(new InboxFilter { Sender = Gam }));
        Assert.Equal(["LAB:A", "GAM:A"], await List(new InboxFilter { ControlId = "A" }));
        Assert.Equal(["GAM:B"], await List(new InboxFilter { Status = InboxStatus.Ignored }));
        Assert.Equal(["GAM:C", "GAM:B"], await List(new InboxFilter { Since = Frames.T0.AddHours(2) }));
        Assert.Equal(["GAM:C"], await List(new InboxFilter { Sender = Gam, Status = InboxStatus.Accepted, Since = Frames.T0.AddMinutes(1) }));
        // An instant in another offset means the same moment.
        Assert.Equal(["GAM:C"], await List(new InboxFilter { Since = Frames.T0.AddHours(3).ToOffset(TimeSpan.FromHours(2)) }));
    }

    [Fact]
    public async Task A_message_shows_every_field_the_operator_api_needs()
    {
        await using var t = await OpenStoreAsync();
        var frame = Frames.Make("mllp/GAM|CHU-X", "M1", Frames.Hl7("M1")) with { FileName = "in/m1.hl7" };

        var receipt = await t.AcceptAsync(frame);
        var detail = await t.Queries.GetAsync(receipt.Id, CancellationToken.None);

        var m = detail!.Message;
        Assert.Equal(receipt.Id, m.Id);
        Assert.Equal("mllp", m.Channel);
        Assert.Equal("mllp/GAM|CHU-X", m.Sender);
        Assert.Equal("M1", m.ControlId);
        Assert.Equal("ADT^A01", m.MessageType);
        Assert.Equal("in/m1.hl7", m.FileName);
        Assert.Equal("127.0.0.1:40000", m.RemoteEndpoint);
        Assert.Equal(InboxStatus.Accepted, m.Status);
        Assert.Empty(m.Warnings);
        Assert.Null(m.Error);
        Assert.Equal(Frames.T0, m.ReceivedAt);
        Assert.Equal(1, m.Receipts);
        Assert.Equal("AA", m.AckCode);
        Assert.Equal(Convert.ToHexStringLower(frame.Sha256), m.Sha256Hex);
        Assert.Equal(frame.Length, m.Length);
        Assert.False(m.Truncated);
        var line = Assert.Single(detail.History);
        Assert.Equal(new HistoryEntry(Frames.T0, InboxStatus.Accepted, InboxHistoryDetail.Received), line);
        Assert.Null(await t.Queries.GetAsync(receipt.Id + 1, CancellationToken.None));
    }

    [Theory]
    [InlineData("not a cursor!")]
    [InlineData("AAAA")]
    public async Task A_forged_cursor_is_refused(string cursor)
    {
        await using var t = await OpenStoreAsync();

        await Assert.ThrowsAsync<FormatException>(() => t.Queries.ListAsync(new InboxFilter(), 10, cursor, CancellationToken.None));
    }
}

/// <summary>The InboxQueries suite on SQLite (the embedded default).</summary>
public sealed class SqliteInboxQueriesTests : InboxQueriesTests
{
    private protected override Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) => TestStore.OpenAsync(configure);
}

/// <summary>The InboxQueries suite on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresInboxQueriesTests(PostgresServer server) : InboxQueriesTests()
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(await server.CreateDatabaseAsync(), configure);
}
