using Dapper;
using Dmp.Store.Audit;

namespace Dmp.Store.Tests;

/// <summary>The audit trail's hash chains: appends in order per dossier, verification finds edits and removals.</summary>
public abstract class AuditChainTests
{
    private protected abstract Task<TestStore> OpenStoreAsync();

    private static AuditRecord Read(long patient, string who) =>
        new(patient, "professional", who, "professional", "read", "DocumentReference", "1", "success");

    [Fact]
    public async Task Concurrent_appends_form_one_unbroken_chain_per_dossier()
    {
        await using var t = await OpenStoreAsync();
        var appends = Enumerable.Range(0, 40).Select(i => t.Store.Audit.AppendAsync(Read(1 + (i % 2), "1000000000" + (i % 10)), CancellationToken.None));
        await Task.WhenAll(appends);

        var verification = await t.Store.Audit.VerifyAsync(CancellationToken.None);
        Assert.True(verification.Intact, string.Join("; ", verification.Breaks));
        Assert.Equal(2, verification.Chains);
        Assert.Equal(40, verification.Events);
        var first = await t.Store.Audit.ListAsync(1, 100, null, CancellationToken.None);
        Assert.Equal(20, first.Count);
        Assert.Equal(Enumerable.Range(1, 20).Reverse().Select(i => (long)i), first.Select(e => e.Seq));
    }

    [Fact]
    public async Task Editing_one_event_in_sql_is_reported_at_that_event()
    {
        await using var t = await OpenStoreAsync();
        for (var i = 0; i < 5; i++)
            await t.Store.Audit.AppendAsync(Read(7, "10000000001"), CancellationToken.None);

        await using (var connection = await t.Store.Connections.OpenAsync(CancellationToken.None))
            await connection.ExecuteAsync("UPDATE audit_event SET agent_id = '99999999999' WHERE chain = 'patient:7' AND seq = 3;");

        var verification = await t.Store.Audit.VerifyAsync(CancellationToken.None);
        var broken = Assert.Single(verification.Breaks);
        Assert.Equal(("patient:7", 3L), (broken.Chain, broken.Seq));
        Assert.Contains("edited", broken.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dossiers_own_verification_walks_its_chain_only_and_finds_its_breaks()
    {
        await using var t = await OpenStoreAsync();
        for (var i = 0; i < 3; i++)
        {
            await t.Store.Audit.AppendAsync(Read(11, "10000000001"), CancellationToken.None);
            await t.Store.Audit.AppendAsync(Read(12, "10000000001"), CancellationToken.None);
        }

        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync("UPDATE audit_event SET agent_id = '99999999999' WHERE chain = 'patient:12' AND seq = 2;");

        // Another dossier's break is not this one's: one chain walked, its three events.
        var own = await t.Store.Audit.VerifyPatientAsync(11, CancellationToken.None);
        Assert.True(own.Intact, string.Join("; ", own.Breaks));
        Assert.Equal((1L, 3L), (own.Chains, own.Events));
        var other = Assert.Single((await t.Store.Audit.VerifyPatientAsync(12, CancellationToken.None)).Breaks);
        Assert.Equal(("patient:12", 2L), (other.Chain, other.Seq));
        // A dossier nobody read has nothing to walk.
        var none = await t.Store.Audit.VerifyPatientAsync(13, CancellationToken.None);
        Assert.Equal((0L, 0L, true), (none.Chains, none.Events, none.Intact));

        // Its head removed, the events left: a break, not an empty chain.
        await connection.ExecuteAsync("DELETE FROM audit_head WHERE chain = 'patient:11';");
        var headless = Assert.Single((await t.Store.Audit.VerifyPatientAsync(11, CancellationToken.None)).Breaks);
        Assert.Equal("patient:11", headless.Chain);
        Assert.Contains("no head", headless.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Removing_the_last_event_is_reported_by_the_head()
    {
        await using var t = await OpenStoreAsync();
        for (var i = 0; i < 3; i++)
            await t.Store.Audit.AppendAsync(Read(4, "10000000001"), CancellationToken.None);

        await using (var connection = await t.Store.Connections.OpenAsync(CancellationToken.None))
            await connection.ExecuteAsync("DELETE FROM audit_event WHERE chain = 'patient:4' AND seq = 3;");

        var broken = Assert.Single((await t.Store.Audit.VerifyAsync(CancellationToken.None)).Breaks);
        Assert.Equal("patient:4", broken.Chain);
        Assert.Contains("removed", broken.Reason, StringComparison.Ordinal);
    }
}

public sealed class SqliteAuditChainTests : AuditChainTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();
}

[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresAuditChainTests(PostgresServer server) : AuditChainTests
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
