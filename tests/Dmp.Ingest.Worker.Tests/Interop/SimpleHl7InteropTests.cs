using System.Text;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>
/// simple-hl7 (npm), an MLLP implementation no one here wrote, against our listener and our `send`.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class SimpleHl7InteropTests
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 120_000)]
    public async Task Simple_hl7_client_gets_an_accept_ACK_for_each_message_with_MSA_2_equal_to_MSH_10_and_each_is_stored()
    {
        var node = Peers.Node();
        string[] files =
        [
            CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7"),
            CliRunner.TestData("hl7v2", "fhirconv_ORU-R01-01.hl7"),
            CliRunner.TestData("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"),
            CliRunner.TestData("hl7v2", "french", "ans_TDCDA-2.1_ORU_CR-Bio_INIT_N1_N3.hl7"),
        ];
        var controlIds = files.Select(ControlIdOf).ToArray();
        // Original mode gets AA; fhirconv's ORU^R01 sets MSH-15 AL (enhanced mode), whose accept ACK is CA.
        string[] expectedCodes = ["AA", "CA", "AA", "AA"];
        await using var gateway = await InteropGateway.StartAsync();

        await using var client = PeerProcess.Start(node, [Peers.Script("mllp-client.js"), "127.0.0.1", gateway.MllpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), .. files], Peers.Directory);
        client.CloseStandardInput();
        var exit = await client.WaitForExitAsync(PeerTimeout);

        Assert.True(exit == 0, $"mllp-client exited {exit}; stdout: {client.Stdout}; stderr: {client.Stderr}");
        var msaLines = client.StdoutLines.Where(l => l.StartsWith("MSA|", StringComparison.Ordinal)).ToArray();
        Assert.Equal(files.Length, msaLines.Length);
        for (var i = 0; i < files.Length; i++)
        {
            var msa = msaLines[i].Split('|');
            Assert.Equal(expectedCodes[i], msa[1]);
            Assert.Equal(controlIds[i], msa[2]);
            var rows = await gateway.FindAsync(controlIds[i]);
            var row = Assert.Single(rows);
            Assert.Equal(expectedCodes[i], row.AckCode);
            Assert.NotEqual(InboxStatus.Rejected, row.Status);
            Assert.StartsWith("127.0.0.1:", row.RemoteEndpoint, StringComparison.Ordinal);
        }
        // The French message (MSH-18 UNICODE UTF-8) is read like the others.
        var french = Assert.Single(await gateway.FindAsync(controlIds[2]));
        Assert.Equal("ADT^A01", french.MessageType);
    }

    [Fact(Timeout = 120_000)]
    public async Task Send_delivers_single_messages_and_a_batch_to_a_simple_hl7_server()
    {
        var node = Peers.Node();
        string[] files =
        [
            CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7"),
            CliRunner.TestData("hl7v2", "reportstream_batch_message.hl7"),
            CliRunner.TestData("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"),
        ];
        await using var server = PeerProcess.Start(node, [Peers.Script("mllp-server.js")], Peers.Directory);
        try
        {
            var port = await ListeningPort(server);

            var (code, stdout, stderr) = await CliRunner.RunAsync(["send", .. files, "--host", "127.0.0.1", "--port", port, "--timeout", "10", "--retries", "0"]);

            Assert.True(code == 0, $"send exited {code}; stdout: {stdout}; stderr: {stderr}; server: {server.Stdout} {server.Stderr}");
            // The batch's two ORU^R01 say MSH-15 NE: sent without waiting (simple-hl7 ACKs them anyway;
            // `send` must not take those ACKs for the next message's).
            Assert.Equal(
                [$"{files[0]}: MSA|AA|MSG00001", $"{files[1]}#1: sent, no ACK expected (MSH-15 NE)", $"{files[1]}#2: sent, no ACK expected (MSH-15 NE)", $"{files[2]}: MSA|AA|3975"],
                Lines(stdout));
            Assert.Contains("4 messages: 4 sent, 2 accepted, 0 rejected, 2 not answered", stderr, StringComparison.Ordinal);
            // The server saw every control id, each message with all its segments (segments end with CR on the wire).
            string[] expected = ["MSG00001", "371784", "612092", "3975"];
            var received = server.StdoutLines.Where(l => l.StartsWith("RECEIVED ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToArray();
            Assert.Equal(expected, received.Select(r => r[1]));
            Assert.Equal(["24", "11", "11", "6"], received.Select(r => r[2]));
        }
        finally
        {
            server.CloseStandardInput();
            await server.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Send_pairs_each_ACK_with_its_message_when_a_peer_ACKs_a_message_that_asked_for_none()
    {
        // simple-hl7's server answers every message, even one whose MSH-15 says NE (never): `send`
        // must not take that stray ACK as the answer to the next message.
        var node = Peers.Node();
        var dir = Directory.CreateTempSubdirectory("dmp-send-ne-");
        try
        {
            var ne = Path.Combine(dir.FullName, "ne.hl7");
            await File.WriteAllTextAsync(ne, "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111154||ADT^A08^ADT_A01|NE-1|P|2.5|||NE|AL\rPID|1||123^^^CHU-X^PI||DUPONT^JEAN\r");
            var al = Path.Combine(dir.FullName, "al.hl7");
            await File.WriteAllTextAsync(al, "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111155||ADT^A08^ADT_A01|AL-2|P|2.5\rPID|1||123^^^CHU-X^PI||DUPONT^JEAN\r");
            await using var server = PeerProcess.Start(node, [Peers.Script("mllp-server.js")], Peers.Directory);
            try
            {
                var port = await ListeningPort(server);

                var (code, stdout, stderr) = await CliRunner.RunAsync("send", ne, al, "--port", port, "--timeout", "10", "--retries", "0");

                Assert.True(code == 0, $"send exited {code}; stdout: {stdout}; stderr: {stderr}");
                Assert.Contains($"{ne}: sent, no ACK expected (MSH-15 NE)", stdout, StringComparison.Ordinal);
                Assert.Equal([$"{al}: MSA|AA|AL-2"], Lines(stdout).Where(l => l.Contains(": MSA|", StringComparison.Ordinal)));
            }
            finally
            {
                server.CloseStandardInput();
                await server.WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    internal static async Task<string> ListeningPort(PeerProcess server)
    {
        var line = await server.WaitForLineAsync(l => l.StartsWith("LISTENING ", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.True(line is not null, $"mllp-server did not start; stdout: {server.Stdout}; stderr: {server.Stderr}");
        return line!["LISTENING ".Length..].Trim();
    }

    internal static string[] Lines(string text) => text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    internal static string ControlIdOf(string file)
    {
        var msh = File.ReadAllText(file, Encoding.UTF8).Split(['\r', '\n'])[0].Split('|');
        return msh[9];
    }
}
