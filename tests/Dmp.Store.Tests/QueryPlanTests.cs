using Dmp.Store.Writing;
using Dapper;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>The statements run for every frame stay index seeks as the inbox grows (SQLite's planner).</summary>
public sealed class QueryPlanTests
{
    [Fact]
    public async Task The_control_id_reuse_lookup_seeks_the_unique_key_instead_of_walking_the_sender()
    {
        await using var t = await TestStore.OpenAsync();
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);

        var plan = string.Join(" | ", (await connection.QueryAsync<(long, long, long, string)>(
            "EXPLAIN QUERY PLAN " + GroupCommitWriter.LastIdWithControlIdSql.TrimEnd(';'), new { Sender = "s", ControlId = "c" }))
            .Select(r => r.Item4));

        Assert.Contains("sender=? AND control_id=?", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("ix_inbound_message_sender", plan, StringComparison.Ordinal);
    }
}
