using System.Net;
using System.Text.Json;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>The real gateway executable with an SFTP source on a real sshd, its Quartz job polling by itself.</summary>
[Trait("Tier", "Slow")]
public sealed class SftpGatewayProcessTests
{
    [Fact]
    public async Task Gateway_process_polls_an_sftp_source_and_shows_the_rows_to_operators()
    {
        await using var sshd = await SshdServer.StartAsync();
        var dataDir = Directory.CreateTempSubdirectory("dmp-sftp-proc-");
        try
        {
            await using (var gateway = await GatewayProcess.StartAsync(dataDir.FullName,
                "--Dmp:Sftp:Sources:0:Name=ris-proc",
                "--Dmp:Sftp:Sources:0:Host=127.0.0.1",
                $"--Dmp:Sftp:Sources:0:Port={sshd.Port}",
                $"--Dmp:Sftp:Sources:0:User={sshd.User}",
                $"--Dmp:Sftp:Sources:0:PrivateKeyPath={sshd.ClientKey}",
                $"--Dmp:Sftp:Sources:0:HostKeySha256={sshd.HostKeySha256}",
                $"--Dmp:Sftp:Sources:0:RemoteFolder={sshd.In}",
                "--Dmp:Sftp:Sources:0:PollSeconds=1"))
            {
                await File.WriteAllBytesAsync(Path.Combine(sshd.In, "adt.hl7"), SftpSamples.Adt("SFTP-PROC-1"));
                var cda = await File.ReadAllBytesAsync(SftpSamples.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml"));
                await File.WriteAllBytesAsync(Path.Combine(sshd.In, "cr-bio.xml"), cda);

                var archive = Path.Combine(sshd.In, "archive");
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(45);
                while (SftpHarness.Names(archive).Length < 2)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the gateway did not archive both files:\n" + string.Join('\n', gateway.Lines));
                    await Task.Delay(200);
                }

                using var api = gateway.OperatorClient();
                using var response = await api.GetAsync("/api/messages?limit=100");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var items = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("items")
                    .EnumerateArray().Select(e => e.Clone()).ToList();
                Assert.Equal(2, items.Count);
                Assert.All(items, i => Assert.Equal("ris-proc", i.Str("channel")));
                Assert.Contains(items, i => i.Str("fileName") == sshd.In + "/adt.hl7" && i.Str("sender") == "ris-proc/RIS|CENTRE-IMG");
                Assert.Contains(items, i => i.Str("fileName") == sshd.In + "/cr-bio.xml" && i.Str("messageType") == "CDA" && i.Str("sender") == "ris-proc");

                Assert.Equal(0, await gateway.StopAsync());
                var log = string.Join('\n', gateway.Lines);
                Assert.Contains("File source ris-proc:", log);
                Assert.DoesNotContain("TEST^PATIENT", log);   // no file contents in the logs
                Assert.DoesNotContain("ClinicalDocument", log);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dataDir.Delete(recursive: true);
        }
    }
}
