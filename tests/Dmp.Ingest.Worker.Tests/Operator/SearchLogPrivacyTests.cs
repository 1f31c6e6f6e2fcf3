using System.Net;
using System.Text;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Operator;

/// <summary>
/// A patient identifier in a search's query string or a bulk replay's body never reaches the log: a real gateway process
/// with the shipped logging settings (appsettings.json: Information, ASP.NET Core's request lines at Warning).
/// </summary>
[Trait("Tier", "Slow")]
public sealed class SearchLogPrivacyTests
{
    private const string Ins = "279035121518989";

    [Fact]
    public async Task Searching_and_replaying_by_patient_logs_at_information_without_the_identifier()
    {
        var dataDir = Directory.CreateTempSubdirectory("dmp-searchlog-");
        try
        {
            await using var gateway = await GatewayProcess.StartAsync(dataDir.FullName, "--Logging:Console:FormatterName=simple");
            await using (var client = await MllpTestClient.ConnectAsync(gateway.Mllp))
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"))).Code);

            using var api = gateway.OperatorClient();
            var deadline = DateTime.UtcNow + TestGateway.Patience;
            IReadOnlyList<System.Text.Json.JsonElement> found;
            do
            {
                found = await TestGateway.Messages(api, "patient=" + Ins + "&status=processed");
                if (found.Count == 1)
                    break;
                await Task.Delay(100);
            }
            while (DateTime.UtcNow < deadline);
            Assert.Single(found);
            using var stats = await api.GetAsync("/api/messages/stats?patient=" + Uri.EscapeDataString("CHU-X|000003"));
            Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
            using var refused = await api.GetAsync("/api/messages?patient=" + Ins + "&nope=" + Ins);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.DoesNotContain(Ins, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var replay = await api.PostAsync("/api/messages/replay",
                new StringContent($$"""{"patient": "{{Ins}}", "expectedCount": 1}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
            await Task.Delay(500);
            await gateway.StopAsync();

            var log = string.Join('\n', gateway.Lines);
            Assert.Contains("info", log, StringComparison.Ordinal); // it did log at Information
            Assert.Contains("bulk replay", log, StringComparison.Ordinal);
            Assert.DoesNotContain(Ins, log, StringComparison.Ordinal);
            Assert.DoesNotContain("000003", log, StringComparison.Ordinal);
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }
}
