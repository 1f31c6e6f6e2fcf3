using System.Text;
using Dapper;
using Dmp.Model;
using Dmp.Model.Apply;
using Dmp.Store.Dossier;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>
/// The apply walks the same merge chain as the API and the identifier lookup (one recursive query, one bound), on
/// every provider: a message about an identifier of a merged patient feeds the survivor's dossier exactly when the
/// API serves that dossier.
/// </summary>
public abstract class MergeChainTests
{
    private protected abstract Task<TestStore> OpenStoreAsync();

    private static readonly DateTimeOffset T0 = new(2025, 5, 1, 8, 0, 0, TimeSpan.Zero);
    private const string Ipp = "IPP-7";
    private const string Facility = "CHU-X";

    [Theory]
    [InlineData(1, true)]
    [InlineData(MergeChainBound, true)]
    [InlineData(MergeChainBound + 1, false)]
    public async Task A_document_for_a_merged_identifier_enters_the_survivors_dossier_within_the_bound(int links, bool resolved)
    {
        await using var t = await OpenStoreAsync();
        var chain = await SeedChainAsync(t, links);
        var message = (await t.AcceptAsync(Frames.Make("mllp/GAM|CHU-X", "M1", Frames.Hl7("M1")))).Id;
        await t.Processing.ClaimAsync(10, CancellationToken.None);

        var result = Assert.Single(await t.Processing.CompleteAsync(
            [new ProcessingResult(message, InboxStatus.Processed, Apply: Plan())], CancellationToken.None));

        var queries = new DossierQueries(t.Store.Connections);
        var survivor = await queries.ResolveSurvivorAsync((await queries.GetPatientAsync(chain[0], CancellationToken.None))!, CancellationToken.None);
        var linked = await t.Store.PatientLinks.FindPatientAsync(Facility, Ipp, CancellationToken.None);
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var owner = await connection.ExecuteScalarAsync<long?>("SELECT patient_id FROM document WHERE unique_id = '1.2.3.4.5^D-1';");
        if (resolved)
        {
            Assert.Equal(InboxStatus.Processed, result.Status);
            Assert.Equal(chain[^1], survivor?.Id);
            Assert.Equal(chain[^1], linked);
            Assert.Equal(chain[^1], owner);
        }
        else
        {
            // Past the bound nobody resolves the identifier: the message waits for an identity instead of feeding a merged patient.
            Assert.Equal(InboxStatus.Held, result.Status);
            Assert.Null(survivor);
            Assert.Null(linked);
            Assert.Null(owner);
        }
    }

    /// <summary>The bound as the store states it (<c>MergeChain.MaxHops</c>).</summary>
    private const int MergeChainBound = DossierQueries.MaxMergeHops;

    /// <summary>Patients merged one into the next (the last, qualified, survives); the first owns the IPP.</summary>
    private static async Task<List<long>> SeedChainAsync(TestStore t, int links)
    {
        var chain = new List<long>();
        await t.Writer.RunInWriteTransactionAsync(async (c, tx) =>
        {
            var now = StoreTime.Write(T0);
            for (var i = 0; i <= links; i++)
            {
                chain.Add(await c.ExecuteScalarAsync<long>(
                    "INSERT INTO patient (ins, ins_system, created_at, updated_at) VALUES (@Ins, @System, @Now, @Now) RETURNING id;",
                    new { Ins = i == links ? "279035121518989" : null, System = i == links ? Oids.InsNirTest : null, Now = now }, tx));
            }

            await c.ExecuteAsync("INSERT INTO dossier (patient_id, updated_at) VALUES (@P, @Now);", new { P = chain[^1], Now = now }, tx);
            for (var i = links - 1; i >= 0; i--)
                await c.ExecuteAsync("UPDATE patient SET merged_into = @Next WHERE id = @Id;", new { Id = chain[i], Next = chain[i + 1] }, tx);
            await c.ExecuteAsync(
                "INSERT INTO patient_identifier (system, value, patient_id, kind, created_at) VALUES (@System, @Value, @P, 'local', @Now);",
                new { System = Facility, Value = Ipp, P = chain[0], Now = now }, tx);
        }, CancellationToken.None);
        return chain;
    }

    /// <summary>An ORU naming the patient by its IPP only, with one validated document.</summary>
    private static ApplyPlan Plan()
    {
        var provenance = new Provenance("mllp/GAM|CHU-X", "M1", "ORU^R01", T0);
        var content = Encoding.UTF8.GetBytes("<ClinicalDocument/>");
        var document = new Document
        {
            UniqueId = new Identifier("1.2.3.4.5", "D-1"),
            MimeType = "text/xml",
            Content = content,
            ValidatedByAuthor = true,
            Provenance = provenance,
        };
        var message = new MappedMessage
        {
            Info = new MessageInfo { Sender = "mllp/GAM|CHU-X", SendingApplication = "GAM", SendingFacility = Facility, MessageType = "ORU" },
            Patients = [new Patient { LocalIdentifiers = [new Identifier(Facility, Ipp)] }],
            Documents = [document],
            Provenance = provenance,
        };
        var body = new DocumentBody(Blobs.BlobKey.Of(content), Blobs.BlobKey.Of(content), "c2hhMQ==", content.Length, "text/xml");
        return new ApplyPlan([MessagePlan.Of(message, T0, [new DocumentPlan(document, body)], [])]);
    }
}

public sealed class SqliteMergeChainTests : MergeChainTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresMergeChainTests(PostgresServer server) : MergeChainTests
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
