using Dapper;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;

namespace Dmp.Store.Tests;

/// <summary>The dossier API's SQL on every provider: visibility, filters, keyset pages, access facts, rights with their audit.</summary>
public abstract class DossierQueriesTests
{
    private protected abstract Task<TestStore> OpenStoreAsync();

    private static readonly DateTimeOffset T0 = new(2025, 5, 1, 8, 0, 0, TimeSpan.Zero);

    private static async Task<long> SeedAsync(TestStore t)
    {
        long patient = 0;
        await t.Writer.RunInWriteTransactionAsync(async (c, tx) =>
        {
            var now = StoreTime.Write(T0);
            patient = await c.ExecuteScalarAsync<long>(
                "INSERT INTO patient (ins, ins_system, created_at, updated_at) VALUES ('279035121518989', '1.2.250.1.213.1.4.8', @Now, @Now) RETURNING id;",
                new { Now = now }, tx);
            await c.ExecuteAsync("INSERT INTO dossier (patient_id, status, opposes_emergency, updated_at) VALUES (@P, 'open', @No, @Now);",
                new { P = patient, No = false, Now = now }, tx);
            await c.ExecuteAsync("INSERT INTO dossier_authorization (patient_id, rpps, granted_at) VALUES (@P, '10000000002', @Now);", new { P = patient, Now = now }, tx);
            await c.ExecuteAsync(
                "INSERT INTO dossier_facility_choice (patient_id, organisation, opposes_feeding, consents_consultation, updated_at) VALUES (@P, 'CHU-X', @No, @Yes, @Now);",
                new { P = patient, No = false, Yes = true, Now = now }, tx);
            for (var i = 0; i < 7; i++)
            {
                var id = await c.ExecuteScalarAsync<long>(
                    """
                    INSERT INTO document (patient_id, unique_id, status, type_code, type_system, created_at, author_rpps, author_family,
                                          masked, hidden_from_patient, stored_at, updated_at)
                    VALUES (@P, @Uid, @Status, @Type, '2.16.840.1.113883.6.1', @Created, @Author, 'Lefèvre', @Masked, @Hidden, @Stored, @Stored)
                    RETURNING id;
                    """,
                    new
                    {
                        P = patient, Uid = "1.2.3^" + i, Status = i == 6 ? "deleted" : i == 5 ? "superseded" : "current",
                        Type = i % 2 == 0 ? "11502-2" : "11490-0", Created = StoreTime.Write(T0.AddDays(i / 2)),
                        Author = i == 1 ? "10000000002" : "10000000009", Masked = i is 1 or 3, Hidden = i == 4, Stored = now,
                    }, tx);
                await c.ExecuteAsync(
                    """
                    INSERT INTO entry (patient_id, kind, fingerprint, code, effective_at, document_id, resource, recorded_at, updated_at)
                    VALUES (@P, 'Observation', @F, '3016-3', @At, @Doc, '{}', @Now, @Now);
                    """,
                    new { P = patient, F = "f" + i, At = StoreTime.Write(T0.AddDays(i)), Doc = id, Now = now }, tx);
            }
        }, CancellationToken.None);
        return patient;
    }

    [Theory]
    [InlineData(DossierQueries.MaxMergeHops, true)]
    [InlineData(DossierQueries.MaxMergeHops + 1, false)]
    public async Task The_api_and_the_identifier_lookup_follow_the_same_merge_chain_to_the_survivor(int links, bool resolved)
    {
        await using var t = await OpenStoreAsync();
        var chain = new List<long>();
        await t.Writer.RunInWriteTransactionAsync(async (c, tx) =>
        {
            var now = StoreTime.Write(T0);
            for (var i = 0; i <= links; i++)
                chain.Add(await c.ExecuteScalarAsync<long>(
                    "INSERT INTO patient (created_at, updated_at) VALUES (@Now, @Now) RETURNING id;", new { Now = now }, tx));
            // Each patient merged into the next one (A40 after A40): the last is the survivor.
            for (var i = links - 1; i >= 0; i--)
                await c.ExecuteAsync("UPDATE patient SET merged_into = @Next WHERE id = @Id;", new { Id = chain[i], Next = chain[i + 1] }, tx);
            await c.ExecuteAsync(
                "INSERT INTO patient_identifier (system, value, patient_id, kind, created_at) VALUES ('1.2.250.1.71.4.2.7', 'IPP-1', @P, 'local', @Now);",
                new { P = chain[0], Now = now }, tx);
        }, CancellationToken.None);
        var queries = new DossierQueries(t.Store.Connections);

        var first = await queries.GetPatientAsync(chain[0], CancellationToken.None);
        var survivor = await queries.ResolveSurvivorAsync(first!, CancellationToken.None);
        var linked = await new PatientLinks(t.Store.Connections).FindPatientAsync("1.2.250.1.71.4.2.7", "IPP-1", CancellationToken.None);

        if (resolved)
        {
            Assert.Equal(chain[^1], survivor?.Id);
            Assert.Equal(chain[^1], linked);
        }
        else
        {
            // Past the bound the API serves nothing rather than a merged patient's dossier.
            Assert.Null(survivor);
            Assert.NotEqual(chain[^1], linked);
        }
    }

    [Fact]
    public async Task Documents_are_filtered_by_visibility_and_parameters_and_paged_by_keyset()
    {
        await using var t = await OpenStoreAsync();
        var patient = await SeedAsync(t);
        var queries = new DossierQueries(t.Store.Connections);
        var professional = new CallerView { IncludeMasked = false, MaskedAuthorRpps = "10000000002", Now = T0 };
        var owner = new CallerView { IncludeMasked = true, PatientView = true, HiddenStoredBefore = T0.AddDays(-30), Now = T0 };
        async Task<List<string>> Search(DocumentFilter filter, CallerView visibility, int limit = 50) =>
            (await queries.SearchDocumentsAsync(filter with { PatientId = patient }, visibility, new PageRequest(limit), CancellationToken.None))
                .Items.Select(d => d.UniqueId).ToList();

        Assert.Equal(["1.2.3^4", "1.2.3^2", "1.2.3^1", "1.2.3^0"], await Search(new DocumentFilter(), professional));
        Assert.Equal(["1.2.3^3", "1.2.3^2", "1.2.3^1", "1.2.3^0"], await Search(new DocumentFilter(), owner));
        Assert.Equal(["1.2.3^5", "1.2.3^3", "1.2.3^2", "1.2.3^1", "1.2.3^0"],
            await Search(new DocumentFilter { Statuses = ["current", "superseded", "deleted"] }, owner));
        Assert.Equal(["1.2.3^4", "1.2.3^2", "1.2.3^0"],
            await Search(new DocumentFilter { Types = [[new CodeMatch("11502-2", ["http://loinc.org", "2.16.840.1.113883.6.1"])]] }, professional));
        Assert.Equal(["1.2.3^4"], await Search(new DocumentFilter { Date = [new TimeBound(TimeComparison.NotBefore, T0.AddDays(2))] }, professional));
        Assert.Equal(["1.2.3^1"], await Search(new DocumentFilter { SecurityLabels = [["MASQUE_PS"]] }, professional));
        Assert.Equal(4, (await Search(new DocumentFilter { AuthorFamily = [["lef"]] }, professional)).Count);
        Assert.Equal(["1.2.3^0"], await Search(new DocumentFilter { UniqueIds = [[new CodeMatch("1.2.3^0")]], RelatedTo = [] }, professional));

        // Keyset pages of 2, newest first, with ties on the creation time broken by id.
        var seen = new List<string>();
        PageKey? after = null;
        do
        {
            var page = await queries.SearchDocumentsAsync(new DocumentFilter { PatientId = patient }, owner, new PageRequest(2, After: after), CancellationToken.None);
            seen.AddRange(page.Items.Select(d => d.UniqueId));
            after = page.Next;
        }
        while (after is not null);
        Assert.Equal(["1.2.3^3", "1.2.3^2", "1.2.3^1", "1.2.3^0"], seen);

        var entries = await queries.SearchEntriesAsync(
            new EntryFilter { PatientId = patient, Kinds = ["Observation"], Codes = [[new CodeMatch("3016-3")]] }, professional, new PageRequest(50), CancellationToken.None);
        Assert.Equal(["f5", "f4", "f2", "f1", "f0"], await FingerprintsAsync(t, entries.Items));
    }

    [Fact]
    public async Task Access_facts_and_rights_commit_with_their_audit_event()
    {
        await using var t = await OpenStoreAsync();
        var patient = await SeedAsync(t);
        var queries = new DossierQueries(t.Store.Connections);
        var rights = new DossierRights(t.Writer, t.Store.Connections, TimeProvider.System);

        var facts = await queries.GetDossierAsync(patient, "10000000002", "CHU-X", CancellationToken.None);
        Assert.True(facts!.IsOpen && facts.ProfessionalAuthorised && facts.OrganisationConsents && !facts.OpposesEmergency);
        var stranger = await queries.GetDossierAsync(patient, "10000000005", "CLINIQUE-Y", CancellationToken.None);
        Assert.False(stranger!.ProfessionalAuthorised || stranger.OrganisationConsents);
        Assert.Equal(patient, (await queries.FindPatientByIdentifierAsync("1.2.250.1.213.1.4.8", "279035121518989", CancellationToken.None))!.Id);

        AuditRecord Audit(string action) => new(patient, "patient", "279035121518989", "patient", action, "Patient", null, "success");
        Assert.True(await rights.SetOpenAsync(patient, false, Audit("close"), CancellationToken.None));
        Assert.True(await rights.SetEmergencyOppositionAsync(patient, true, Audit("oppose-emergency"), CancellationToken.None));
        Assert.True(await rights.AuthorizeAsync(patient, "10000000007", true, Audit("authorize"), CancellationToken.None));
        Assert.True(await rights.RevokeAsync(patient, "10000000002", false, Audit("revoke"), CancellationToken.None));
        var document = (await queries.SearchDocumentsAsync(new DocumentFilter { PatientId = patient },
            new CallerView { IncludeMasked = true, Now = T0 }, new PageRequest(1), CancellationToken.None)).Items[0];
        Assert.True(await rights.SetMaskedAsync(document.Id, true, Audit("mask"), CancellationToken.None));
        Assert.True(await rights.UnhideAsync(document.Id, Audit("unhide"), CancellationToken.None));
        Assert.True(await rights.DeleteDocumentAsync(document.Id, Audit("delete"), CancellationToken.None));
        Assert.False(await rights.DeleteDocumentAsync(document.Id, Audit("delete"), CancellationToken.None));

        var after = await queries.GetDossierAsync(patient, "10000000002", null, CancellationToken.None);
        Assert.Equal(("closed", true, "10000000007", false), (after!.Status, after.OpposesEmergency, after.TreatingRpps, after.ProfessionalAuthorised));
        Assert.NotNull(after.ClosedAt);
        var deleted = await queries.GetDocumentAsync(document.Id, null, CancellationToken.None);
        Assert.Equal(("deleted", true), (deleted!.Status, deleted.Masked));
        Assert.Null(await queries.GetDocumentAsync(document.Id, new CallerView { IncludeMasked = true, Now = T0 }, CancellationToken.None));
        var trail = await t.Store.Audit.ListAsync(patient, 20, null, CancellationToken.None);
        Assert.Equal(["not-found", "success", "success", "success", "success", "success", "success", "success"], trail.Select(e => e.Outcome));
        Assert.True((await t.Store.Audit.VerifyAsync(CancellationToken.None)).Intact);
    }

    private static async Task<List<string>> FingerprintsAsync(TestStore t, IEnumerable<EntryRow> rows)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var result = new List<string>();
        foreach (var row in rows)
            result.Add(await connection.ExecuteScalarAsync<string>("SELECT fingerprint FROM entry WHERE id = @Id;", new { row.Id }) ?? "");
        return result;
    }
}

public sealed class SqliteDossierQueriesTests : DossierQueriesTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();
}

[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresDossierQueriesTests(PostgresServer server) : DossierQueriesTests
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
