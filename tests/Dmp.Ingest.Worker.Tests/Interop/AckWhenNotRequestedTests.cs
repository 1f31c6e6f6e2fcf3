using System.Globalization;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>
/// `Dmp:Mllp:AckWhenNotRequested`: simple-hl7's client (npm, tests/peers) waits for an answer whatever MSH-15 says.
/// With the option on it gets its accept ACK for an MSH-15=NE message; off, the listener keeps to the standard and
/// sends nothing, so the client gives up on its own timeout.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class AckWhenNotRequestedTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_simple_hl7_client_sending_MSH_15_NE_is_answered_only_when_AckWhenNotRequested_is_on(bool ackWhenNotRequested)
    {
        var node = Peers.Node();
        var controlId = "NE-PEER-" + (ackWhenNotRequested ? "ON" : "OFF");
        var file = Path.Combine(Path.GetTempPath(), $"dmp-ne-{Guid.NewGuid():N}.hl7");
        // MSH-15 NE, MSH-16 NE: enhanced mode, the sender asks for no acknowledgement at all.
        await File.WriteAllBytesAsync(file, Hl7Samples.Adt(controlId, acceptAck: "NE", appAck: "NE"));
        try
        {
            await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
            {
                ["Dmp:Mllp:AckWhenNotRequested"] = ackWhenNotRequested ? "true" : "false",
            });
            var port = gateway.Mllp.Port.ToString(CultureInfo.InvariantCulture);

            // `env` sets the client's own timeout: the unanswered case ends in seconds, not the default 30.
            await using var client = PeerProcess.Start("/usr/bin/env", ["MLLP_CLIENT_TIMEOUT_MS=4000", node, Peers.Script("mllp-client.js"), "127.0.0.1", port, file], Peers.Directory);
            client.CloseStandardInput();
            var exit = await client.WaitForExitAsync(TimeSpan.FromSeconds(60));

            var msa = client.StdoutLines.Where(l => l.StartsWith("MSA|", StringComparison.Ordinal)).ToList();
            if (ackWhenNotRequested)
            {
                Assert.True(exit == 0, $"mllp-client exited {exit}; stdout: {client.Stdout}; stderr: {client.Stderr}");
                var fields = Assert.Single(msa).Split('|');
                Assert.Equal(("CA", controlId), (fields[1], fields[2]));
            }
            else
            {
                Assert.True(exit == 3, $"mllp-client should have timed out (exit 3) but exited {exit}; stdout: {client.Stdout}; stderr: {client.Stderr}");
                Assert.Empty(msa);
            }
            // Either way the message is stored (and its answer, when one was sent, kept for a resend).
            var row = await gateway.SingleAsync(controlId);
            Assert.Equal(ackWhenNotRequested ? "CA" : null, row.Str("ackCode"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
