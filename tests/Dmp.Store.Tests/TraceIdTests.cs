using Dapper;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>
/// The trace columns of 0012: an inbound message keeps the W3C trace id (and the receive span's traceparent) it arrived
/// with, the queries return it, the claim hands both to the processing worker, a resend keeps the first copy's, and a
/// row stored without one reads as null. The readiness probe's row commits on the store's writer.
/// </summary>
public abstract class TraceIdTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private protected abstract Task<TestStore> OpenStoreAsync();

    [Fact]
    public async Task The_trace_id_is_stored_returned_and_handed_to_processing_and_a_row_without_one_reads_null()
    {
        await using var t = await OpenStoreAsync();
        var traced = Frames.Make("mllp/LAB|LAB", "T1", Frames.Hl7("T1")) with { TraceId = TraceId, TraceParent = TraceParent };

        var first = await t.AcceptAsync(traced);
        var resent = await t.AcceptAsync(traced with { TraceId = "0af7651916cd43dd8448eb211c80319c", TraceParent = null });
        var untraced = await t.AcceptAsync(Frames.Make("mllp/LAB|LAB", "T2", Frames.Hl7("T2")));

        Assert.True(resent.Duplicate);
        var listed = (await t.Queries.ListAsync(new InboxFilter(), 10, null, CancellationToken.None)).Items;
        Assert.Equal([null, TraceId], listed.Select(m => m.TraceId));
        Assert.Equal(TraceId, (await t.Queries.GetAsync(first.Id, CancellationToken.None))!.Message.TraceId);
        Assert.Null((await t.Queries.GetAsync(untraced.Id, CancellationToken.None))!.Message.TraceId);

        var claimed = await t.Processing.ClaimAsync(10, CancellationToken.None);
        Assert.Equal([(TraceId, TraceParent), (null, null)], claimed.Select(m => (m.TraceId, m.TraceParent)));
    }

    [Fact]
    public async Task The_readiness_probe_row_is_updated_in_a_committed_write_transaction()
    {
        await using var t = await OpenStoreAsync();
        var updated = 0;

        await t.Writer.RunInWriteTransactionAsync(async (connection, transaction) =>
            updated = await connection.ExecuteAsync("UPDATE health_probe SET at = @At WHERE id = 1;", new { At = "probe-1" }, transaction),
            CancellationToken.None);

        Assert.Equal(1, updated);
        await using var reader = await t.Store.Connections.OpenAsync(CancellationToken.None);
        Assert.Equal("probe-1", await reader.ExecuteScalarAsync<string>("SELECT at FROM health_probe WHERE id = 1;"));
    }
}

/// <summary>The trace columns on SQLite.</summary>
public sealed class SqliteTraceIdTests : TraceIdTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();
}

/// <summary>The trace columns on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresTraceIdTests(PostgresServer server) : TraceIdTests()
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
