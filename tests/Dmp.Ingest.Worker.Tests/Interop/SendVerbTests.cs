using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>`send` against our own listener: batches, NACKs, exit codes, retries.</summary>
[Trait("Tier", "Slow")]
public sealed class SendVerbTests
{
    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    [Fact(Timeout = 60_000)]
    public async Task A_batch_file_yields_one_MSA_line_per_message()
    {
        using var dir = new InteropTempDir();
        var batch = dir.Write("batch.hl7", string.Join("\n",
            "FHS|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111154",
            "BHS|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111154",
            "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111154||ADT^A08^ADT_A01|B-1|P|2.5",
            "PID|1||101^^^CHU-X^PI||MARTIN^PAUL",
            "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111155||ADT^A08^ADT_A01|B-2|P|2.5",
            "PID|1||102^^^CHU-X^PI||BERNARD^LUC",
            "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111156||ADT^A08^ADT_A01|B-3|P|2.5",
            "PID|1||103^^^CHU-X^PI||PETIT^ANNE",
            "BTS|3",
            "FTS|1",
            ""));
        await using var gateway = await InteropGateway.StartAsync();

        var (code, stdout, stderr) = await CliRunner.RunAsync("send", batch, "--port", Port(gateway.MllpPort), "--timeout", "10");

        Assert.True(code == 0, $"exit {code}; stdout: {stdout}; stderr: {stderr}");
        Assert.Equal([$"{batch}#1: MSA|AA|B-1", $"{batch}#2: MSA|AA|B-2", $"{batch}#3: MSA|AA|B-3"], SimpleHl7InteropTests.Lines(stdout));
        Assert.Contains("3 sent, 3 accepted, 0 rejected, 0 not answered", stderr, StringComparison.Ordinal);
        foreach (var id in new[] { "B-1", "B-2", "B-3" })
            Assert.Equal("ADT^A08", Assert.Single(await gateway.FindAsync(id)).MessageType);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_batch_whose_messages_ask_for_no_ACK_is_sent_without_waiting_and_stored()
    {
        // reportstream's batch: two ORU^R01 with MSH-15 NE, which the gateway honours (no accept ACK).
        await using var gateway = await InteropGateway.StartAsync();

        var (code, stdout, stderr) = await CliRunner.RunAsync("send", CliRunner.TestData("hl7v2", "reportstream_batch_message.hl7"), "--port", Port(gateway.MllpPort), "--timeout", "10");

        Assert.True(code == 0, $"exit {code}; stdout: {stdout}; stderr: {stderr}");
        var lines = SimpleHl7InteropTests.Lines(stdout);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.EndsWith("sent, no ACK expected (MSH-15 NE)", l, StringComparison.Ordinal));
        // `send` closes the connection right after the last frame (nothing to wait for): the gateway
        // must still store what it received (invariant: every input ends in one stored message).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await gateway.AllAsync()).Count < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        foreach (var id in new[] { "371784", "612092" })
            Assert.True((await gateway.FindAsync(id)).Count == 1,
                $"message {id} was sent (TCP delivered it) but is not stored: the listener dropped frames of a connection the sender closed right after writing them");
    }

    [Fact(Timeout = 60_000)]
    public async Task Acknowledgement_messages_are_sent_without_waiting_and_counted_as_not_answered()
    {
        // The gateway stores an ACK or a ZAM without answering it (answering would loop): `send` must not wait 30 s for one.
        await using var gateway = await InteropGateway.StartAsync();
        var ack = CliRunner.TestData("hl7v2", "french", "ans_TDCDA-2.1_ORU_INIT_ack.hl7");
        var zam = CliRunner.TestData("hl7v2", "french", "ans_TDCDA-2.1_ZAM_Z01_reception_DMP.hl7");
        var admission = CliRunner.TestData("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var (code, stdout, stderr) = await CliRunner.RunAsync("send", ack, zam, admission, "--port", Port(gateway.MllpPort), "--timeout", "30");

        Assert.True(code == 0, $"exit {code}; stdout: {stdout}; stderr: {stderr}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"send waited for answers that never come: {clock.Elapsed}");
        Assert.Equal(
            [$"{ack}: sent, no ACK expected (ACK is an acknowledgement)", $"{zam}: sent, no ACK expected (ZAM is an acknowledgement)", $"{admission}: MSA|AA|3975"],
            SimpleHl7InteropTests.Lines(stdout));
        Assert.Contains("3 messages: 3 sent, 1 accepted, 0 rejected, 2 not answered", stderr, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_message_the_gateway_rejects_makes_send_exit_1_with_the_NACK_printed()
    {
        using var dir = new InteropTempDir();
        var good = dir.Write("good.hl7", "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111154||ADT^A08^ADT_A01|GOOD-1|P|2.5\rPID|1||123^^^CHU-X^PI||DUPONT^JEAN\r");
        var noType = dir.Write("no-type.hl7", "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111154|||BAD-1|P|2.5\rPID|1||123^^^CHU-X^PI||DUPONT^JEAN\r");
        await using var gateway = await InteropGateway.StartAsync();

        var (code, stdout, stderr) = await CliRunner.RunAsync("send", good, noType, "--port", Port(gateway.MllpPort), "--timeout", "10");

        Assert.True(code == 1, $"exit {code}; stdout: {stdout}; stderr: {stderr}");
        var lines = SimpleHl7InteropTests.Lines(stdout);
        Assert.Equal($"{good}: MSA|AA|GOOD-1", lines[0]);
        Assert.StartsWith($"{noType}: MSA|AR|BAD-1", lines[1], StringComparison.Ordinal);
        Assert.Contains("2 sent, 1 accepted, 1 rejected", stderr, StringComparison.Ordinal);
        Assert.Equal("rejected", Assert.Single(await gateway.FindAsync("BAD-1")).Status);
    }

    [Fact(Timeout = 30_000)]
    public async Task Bad_input_and_usage_give_the_documented_exit_codes_without_a_stack_trace()
    {
        using var dir = new InteropTempDir();
        var garbage = dir.Write("garbage.hl7", "this is not HL7\n");
        var file = CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7");

        var missing = await CliRunner.RunAsync("send", Path.Combine(dir.Path, "nope.hl7"), "--port", "2575");
        var notHl7 = await CliRunner.RunAsync("send", garbage, "--port", "2575");
        var portZero = await CliRunner.RunAsync("send", file, "--port", "0");
        var portHigh = await CliRunner.RunAsync("send", file, "--port", "70000");
        var portText = await CliRunner.RunAsync("send", file, "--port", "abc");
        var noTimeout = await CliRunner.RunAsync("send", file, "--timeout", "0");
        var keyWithoutCert = await CliRunner.RunAsync("send", file, "--tls-key", garbage);
        var missingCa = await CliRunner.RunAsync("send", file, "--tls", "--tls-ca", Path.Combine(dir.Path, "nope.pem"));

        Assert.Equal(66, missing.ExitCode);
        Assert.Contains("nope.hl7: cannot read: no such file", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal(65, notHl7.ExitCode);
        Assert.Contains("garbage.hl7", notHl7.Stderr, StringComparison.Ordinal);
        Assert.Equal(64, portZero.ExitCode);
        Assert.Equal(64, portHigh.ExitCode);
        Assert.Equal(64, portText.ExitCode);
        Assert.Equal(64, noTimeout.ExitCode);
        Assert.Equal(64, keyWithoutCert.ExitCode);
        Assert.Equal(66, missingCa.ExitCode);
        Assert.Contains("nope.pem", missingCa.Stderr, StringComparison.Ordinal);
        foreach (var run in new[] { missing, notHl7, portZero, portHigh, portText, noTimeout, keyWithoutCert, missingCa })
        {
            Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
            Assert.Equal("", run.Stdout);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task An_unreachable_port_exits_1_with_one_clear_line()
    {
        var port = FreePort();

        var (code, stdout, stderr) = await CliRunner.RunAsync("send", CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7"), "--port", Port(port), "--retries", "1", "--timeout", "5");

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(SimpleHl7InteropTests.Lines(stderr));
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        Assert.Contains("refused", line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" at ", line, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task With_retries_a_message_gets_through_when_the_first_connection_is_dropped()
    {
        await using var gateway = await InteropGateway.StartAsync();
        // A relay that closes the first connection without a word, then relays to the gateway.
        using var relay = new TcpListener(IPAddress.Loopback, 0);
        relay.Start();
        var connections = 0;
        using var stop = new CancellationTokenSource();
        var relaying = Task.Run(async () =>
        {
            var pumps = new List<Task>();
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var incoming = await relay.AcceptTcpClientAsync(stop.Token);
                    if (Interlocked.Increment(ref connections) == 1)
                    {
                        // Read what comes, then drop the connection without answering.
                        var buffer = new byte[4096];
                        _ = await incoming.GetStream().ReadAsync(buffer, stop.Token);
                        incoming.Client.LingerState = new LingerOption(true, 0);
                        incoming.Dispose();
                        continue;
                    }
                    var outgoing = new TcpClient();
                    await outgoing.ConnectAsync(gateway.MllpEndPoint, stop.Token);
                    pumps.Add(Pump(incoming, outgoing, stop.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
            await Task.WhenAll(pumps);
        });
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("send", CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7"),
                "--port", Port(((IPEndPoint)relay.LocalEndpoint).Port), "--retries", "2", "--timeout", "10");

            Assert.True(code == 0, $"exit {code}; stdout: {stdout}; stderr: {stderr}");
            Assert.Equal([$"{CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7")}: MSA|AA|MSG00001"], SimpleHl7InteropTests.Lines(stdout));
            Assert.Equal(2, Volatile.Read(ref connections));
            Assert.Equal(1, Assert.Single(await gateway.FindAsync("MSG00001")).Receipts);
        }
        finally
        {
            await stop.CancelAsync();
            relay.Stop();
            await relaying.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task With_retries_a_message_gets_through_to_a_gateway_that_starts_late()
    {
        var port = FreePort();
        var sending = CliRunner.RunAsync("send", CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7"), "--port", Port(port), "--retries", "4", "--timeout", "10");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        if (sending.IsCompleted)
            Assert.Fail("send gave up before the gateway started: " + (await sending).Stderr);
        await using var gateway = await InteropGateway.StartAsync(mllpPort: port);

        var (code, stdout, stderr) = await sending.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == 0, $"exit {code}; stdout: {stdout}; stderr: {stderr}");
        Assert.Equal([$"{CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7")}: MSA|AA|MSG00001"], SimpleHl7InteropTests.Lines(stdout));
        Assert.Single(await gateway.FindAsync("MSG00001"));
    }

    private static async Task Pump(TcpClient incoming, TcpClient outgoing, CancellationToken ct)
    {
        using (incoming)
        using (outgoing)
        {
            var a = incoming.GetStream().CopyToAsync(outgoing.GetStream(), ct);
            var b = outgoing.GetStream().CopyToAsync(incoming.GetStream(), ct);
            try
            {
                await Task.WhenAny(a, b);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
            }
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A temp folder for test files.</summary>
internal sealed class InteropTempDir : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("dmp-interop-files-");

    public string Path => _dir.FullName;

    public string Write(string name, string content)
    {
        var path = System.IO.Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
