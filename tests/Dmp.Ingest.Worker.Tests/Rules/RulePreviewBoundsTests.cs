using Dapper;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Rules;

/// <summary>
/// The preview's bounds on a large inbox: 100,000 stored messages (seeded by one SQL statement from a message received
/// over MLLP), a limit that caps what is examined, a timeout that answers early with a partial result, and a request
/// that gives up stops the work. Asserted by what the preview reports, never by how long it took.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class RulePreviewBoundsTests
{
    private const int Stored = 100_000;

    [Fact]
    public async Task On_100k_stored_messages_the_limit_caps_the_work_and_the_timeout_answers_a_partial_result_in_time()
    {
        using var rules = new RulesWorkbench();
        var data = Directory.CreateTempSubdirectory("dmp-preview-bounds-");
        try
        {
            var settings = rules.Settings(reload: "manual");
            settings["Dmp:DataDir"] = data.FullName;
            await using (var gateway = await TestGateway.StartAsync(settings))
            {
                await SeedAsync(gateway);
                rules.EditInpatientToEmergency();

                var (status, preview, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"type":"ADT^A01","limit":1000}""");
                Assert.Equal(200, status);
                Assert.Equal(1000, preview.GetProperty("examined").GetInt32());
                Assert.Equal(1000, preview.GetProperty("changed").GetInt32());
                Assert.False(preview.GetProperty("partial").GetBoolean());

                var (overStatus, over, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"limit":100000}""");
                Assert.Equal(400, overStatus);
                Assert.Contains("10000", over.Str("detail"), StringComparison.Ordinal);

                // A caller that gives up: the server's work stops with the request (the next answer is not queued behind it).
                using (var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
                {
                    using var content = new StringContent("""{"limit":10000}""", System.Text.Encoding.UTF8, "application/json");
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gateway.Api.PostAsync("/api/rules/preview", content, impatient.Token));
                }
                var (smallStatus, small, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"limit":10}""");
                Assert.Equal(200, smallStatus);
                Assert.Equal(10, small.GetProperty("examined").GetInt32());
            }

            // The same inbox with a short timeout: the largest preview stops early (fewer examined than its limit), flagged
            // partial with the setting named. No wall-clock bound: on a loaded machine the answer's time says nothing.
            settings["Dmp:Rules:PreviewTimeoutSeconds"] = "0.3";
            rules.RestoreInpatient();
            await using (var gateway = await TestGateway.StartAsync(settings))
            {
                rules.EditInpatientToEmergency();
                var (status, preview, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"limit":10000}""");
                Assert.Equal(200, status);
                Assert.True(preview.GetProperty("partial").GetBoolean(), preview.ToString());
                Assert.Contains("PreviewTimeoutSeconds", preview.Str("reason"), StringComparison.Ordinal);
                var examined = preview.GetProperty("examined").GetInt32();
                Assert.InRange(examined, 0, 9_999);
                Assert.Equal(examined, preview.GetProperty("changed").GetInt32());
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            data.Delete(recursive: true);
        }
    }

    /// <summary>One inpatient admission over MLLP, then <see cref="Stored"/> - 1 copies of its row (distinct control ids) in one statement.</summary>
    private static async Task SeedAsync(TestGateway gateway)
    {
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(RulesWorkbench.Adt("SEED-0", "I"))).Code);
        var seed = (await gateway.SingleAsync("SEED-0")).Id();
        await gateway.WaitForStatusAsync(seed, "processed");
        var store = gateway.Services.GetRequiredService<DmpStore>();
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        var inserted = await connection.ExecuteAsync(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @Copies)
            INSERT INTO inbound_message (channel, sender, control_id, message_type, sha256, length, raw, status, received_at, last_received_at, sender_name)
            SELECT m.channel, m.sender, 'SEED-' || n.i, m.message_type, randomblob(32), m.length, m.raw, 'processed', m.received_at, m.last_received_at, m.sender_name
            FROM n CROSS JOIN inbound_message m WHERE m.id = @Seed;
            """, new { Copies = Stored - 1, Seed = seed }, commandTimeout: 120);
        Assert.Equal(Stored - 1, inserted);
    }
}
