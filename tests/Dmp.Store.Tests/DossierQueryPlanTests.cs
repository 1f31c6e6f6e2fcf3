using Dapper;
using Dmp.Store.Dossier;

namespace Dmp.Store.Tests;

/// <summary>A page of a dossier is read from an index in the page's order, never by sorting the dossier (SQLite's planner).</summary>
public sealed class DossierQueryPlanTests
{
    private static readonly CallerView Professional = new() { IncludeMasked = false, MaskedAuthorRpps = "10000000002", Now = DateTimeOffset.UtcNow };
    private static readonly CallerView Patient = new()
    {
        IncludeMasked = true, PatientView = true, HiddenStoredBefore = DateTimeOffset.UtcNow.AddDays(-30), Now = DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task A_document_page_walks_the_patient_sort_index_without_a_sort()
    {
        await using var t = await TestStore.OpenAsync();
        var queries = new DossierQueries(t.Store.Connections);

        var first = await PlanAsync(t, queries.DocumentSearch(new DocumentFilter { PatientId = 1 }, Professional, new PageRequest(20)));
        var next = await PlanAsync(t, queries.DocumentSearch(
            new DocumentFilter { PatientId = 1, Types = [[new CodeMatch("11502-2")]] }, Patient, new PageRequest(20, After: new PageKey("2025-01-01T00:00:00.0000000Z", 42))));

        foreach (var plan in new[] { first, next })
        {
            Assert.Contains("ix_document_patient_sort", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_entry_page_by_kind_or_by_code_walks_an_index_without_a_sort()
    {
        await using var t = await TestStore.OpenAsync();
        var queries = new DossierQueries(t.Store.Connections);

        var byKind = await PlanAsync(t, queries.EntrySearch(new EntryFilter { PatientId = 1, Kinds = ["Observation"] }, Professional, new PageRequest(20)));
        var byCode = await PlanAsync(t, queries.EntrySearch(
            new EntryFilter { PatientId = 1, Kinds = ["Observation"], Codes = [[new CodeMatch("3016-3")]] }, Patient, new PageRequest(20)));

        Assert.Contains("ix_entry_patient_kind_sort", byKind, StringComparison.Ordinal);
        Assert.Contains("ix_entry_patient_kind_code_sort", byCode, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", byKind + byCode, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_entry_read_by_its_public_id_seeks_the_public_id_index()
    {
        await using var t = await TestStore.OpenAsync();

        var anyone = await PlanAsync(t, DossierSearchSql.EntryRead("Observation", "0123456789abcdef0123456789abcdef", null));
        var visible = await PlanAsync(t, DossierSearchSql.EntryRead("Observation", "0123456789abcdef0123456789abcdef", Professional));

        Assert.All(new[] { anyone, visible }, plan => Assert.Contains("ux_entry_public_id", plan, StringComparison.Ordinal));
        Assert.DoesNotContain("SCAN e", anyone + visible, StringComparison.Ordinal);
    }

    private static async Task<string> PlanAsync(TestStore t, (string Sql, DynamicParameters Parameters) query)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var rows = await connection.QueryAsync<(long, long, long, string)>("EXPLAIN QUERY PLAN " + query.Sql.TrimEnd(';'), query.Parameters);
        return string.Join(" | ", rows.Select(r => r.Item4));
    }
}
