using Dapper;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>The operators' search reads indexes (migration 0014), never the whole inbox (SQLite's planner).</summary>
public sealed class InboxSearchQueryPlanTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("1.2.250.1.213.1.4.8")]
    public async Task A_patient_search_seeks_the_message_patient_and_identifier_indexes(string? system)
    {
        await using var t = await TestStore.OpenAsync();

        var plan = await PlanAsync(t, new InboxFilter { PatientValue = "1234567890123", PatientSystem = system });

        Assert.Contains("message_patient USING", plan, StringComparison.Ordinal);
        Assert.Contains(system is null ? "ix_patient_identifier_value" : "sqlite_autoindex_patient_identifier_1", plan, StringComparison.Ordinal);
        Assert.Contains("ix_document_patient", plan, StringComparison.Ordinal);
        Assert.Contains("ix_entry_patient", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN inbound_message", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN message_patient", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN k", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_type_search_ranges_the_type_index_and_a_document_search_seeks_the_document_keys()
    {
        await using var t = await TestStore.OpenAsync();

        var anyAdt = await PlanAsync(t, new InboxFilter { Type = "ADT" });
        var a01 = await PlanAsync(t, new InboxFilter { Type = "ADT^A01" });
        var document = await PlanAsync(t, new InboxFilter { Document = "1.2.3^doc1" });

        Assert.Contains("ix_inbound_message_type", anyAdt, StringComparison.Ordinal);
        Assert.Contains("ix_inbound_message_type", a01, StringComparison.Ordinal);
        Assert.Contains("(unique_id=?)", document, StringComparison.Ordinal);
        Assert.Contains("ix_document_set", document, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN inbound_message", anyAdt + a01 + document, StringComparison.Ordinal);
    }

    private static async Task<string> PlanAsync(TestStore t, InboxFilter filter)
    {
        var parameters = new DynamicParameters();
        var sql = InboxSearchSql.List(t.Store.Connections, InboxSearchSql.Where(filter, parameters), afterCursor: false);
        parameters.Add("Take", 101);
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var rows = await connection.QueryAsync<(long, long, long, string)>("EXPLAIN QUERY PLAN " + sql.TrimEnd(';'), parameters);
        var plan = string.Join(" | ", rows.Select(r => r.Item4));
        return plan;
    }
}
