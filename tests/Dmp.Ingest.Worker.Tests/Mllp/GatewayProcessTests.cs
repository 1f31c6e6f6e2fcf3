using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dmp.Mapping.Hl7v2;
using Xunit.Abstractions;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>The real gateway executable as a child process: durability across kill -9, and what it writes to its logs.</summary>
[Trait("Tier", "Slow")]
public sealed partial class GatewayProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_acknowledged_message_survives_kill_9_and_is_stored_once()
    {
        const int messages = 300, connections = 4, killAfterAcks = 100;
        var rounds = Environment.GetEnvironmentVariable("DMP_TEST_LONG") == "1" ? 20 : 3; // ./test.sh --long: 20 rounds
        var dataDir = Directory.CreateTempSubdirectory("dmp-kill-");
        var gateway = await GatewayProcess.StartAsync(dataDir.FullName);
        try
        {
            for (var round = 0; round < rounds; round++)
            {
                var ids = Enumerable.Range(0, messages).Select(i => $"KILL{round}-{i:D4}").ToArray();
                var acked = new ConcurrentDictionary<string, bool>();
                var ackCount = 0;
                Task? kill = null;
                var victim = gateway;
                var clock = Stopwatch.StartNew();
                TimeSpan? untilKill = null;

                await Task.WhenAll(Enumerable.Range(0, connections).Select(async c =>
                {
                    try
                    {
                        await using var client = await MllpTestClient.ConnectAsync(victim.Mllp);
                        for (var i = c; i < messages; i += connections)
                        {
                            var answer = await client.SendAsync(Hl7Samples.Adt(ids[i]));
                            if (answer is null)
                                return; // the gateway died
                            var ack = Hl7Samples.ReadAck(answer);
                            Assert.Equal(ids[i], ack.ControlId);
                            if (ack.Code == "AA")
                                acked[ids[i]] = true;
                            if (Interlocked.Increment(ref ackCount) == killAfterAcks)
                            {
                                untilKill = clock.Elapsed;
                                kill = victim.KillAsync();
                            }
                        }
                    }
                    catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                    {
                        // the gateway died mid-write or mid-read: that message was not acknowledged
                    }
                }));
                Assert.NotNull(kill);
                await kill;
                output.WriteLine($"round {round}: {acked.Count} AA before kill -9; {killAfterAcks / untilKill!.Value.TotalSeconds:F0} messages/s ({connections} connections, one message in flight each)");

                await gateway.DisposeAsync();
                gateway = await GatewayProcess.StartAsync(dataDir.FullName);
                using var api = gateway.OperatorClient();

                // Nothing acknowledged is lost, nothing is stored twice.
                var stored = (await TestGateway.Messages(api)).Select(r => r.Str("controlId")!).Where(id => id.StartsWith($"KILL{round}-", StringComparison.Ordinal)).ToList();
                Assert.Equal(stored.Count, stored.Distinct().Count());
                var lost = acked.Keys.Except(stored).ToList();
                Assert.True(lost.Count == 0, $"acknowledged but lost after kill -9: {string.Join(", ", lost)}");

                // The senders resend what they are unsure of: everything ends stored exactly once.
                await ResendAllAsync(gateway, ids);
                var after = (await TestGateway.Messages(api)).Where(r => r.Str("controlId")!.StartsWith($"KILL{round}-", StringComparison.Ordinal)).ToList();
                Assert.Equal(messages, after.Count);
                Assert.Equal(messages, after.Select(r => r.Str("controlId")).Distinct().Count());
                Assert.All(after.Where(r => acked.ContainsKey(r.Str("controlId")!)), r => Assert.True(r.GetProperty("receipts").GetInt32() >= 2));
            }
        }
        finally
        {
            await gateway.DisposeAsync();
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>Sends every message once more on one connection, all frames at once, and checks each answer.</summary>
    private async Task ResendAllAsync(GatewayProcess gateway, string[] ids)
    {
        await using var client = await MllpTestClient.ConnectAsync(gateway.Mllp);
        var clock = Stopwatch.StartNew();
        var writing = Task.Run(async () =>
        {
            foreach (var chunk in ids.Chunk(50))
                await client.WriteRawAsync(chunk.SelectMany(id => MllpTestClient.Frame(Hl7Samples.Adt(id))).ToArray());
        });
        foreach (var id in ids)
        {
            var ack = Hl7Samples.ReadAck(await client.ReadFrameAsync());
            Assert.Equal(("AA", id), (ack.Code, ack.ControlId));
        }
        await writing;
        output.WriteLine($"  resend of {ids.Length} pipelined on one connection: {ids.Length / clock.Elapsed.TotalSeconds:F0} messages/s");
    }

    [Fact]
    public async Task No_patient_identifier_or_name_appears_in_the_logs_at_information_or_above()
    {
        var dataDir = Directory.CreateTempSubdirectory("dmp-logs-");
        var sent = new List<byte[]>();
        foreach (var file in CliRunner.Files(Path.Combine("hl7v2", "french")))
            sent.Add(Hl7Samples.Corpus("hl7v2", "french", Path.GetFileName(file)));
        foreach (var file in new[] { "fhirconv_ADT-A01-01.hl7", "fhirconv_ADT-A08-01.hl7", "fhirconv_ORU-R01-01.hl7", "fhirconv_MDM-T02-01.hl7", "ipf_qbp.hl7" })
            sent.Add(Hl7Samples.Corpus("hl7v2", file));
        sent.Add(Hl7Samples.Corpus("malformed", "adt-without-pid.hl7"));
        var garbage = "PID|1||SECRETIPP999^^^X||GARBAGENAME^SECRET"u8.ToArray(); // not HL7: no MSH
        try
        {
            await using (var gateway = await GatewayProcess.StartAsync(dataDir.FullName, "--Dmp:Mllp:MaxFrameBytes=524288"))
            {
                await using (var client = await MllpTestClient.ConnectAsync(gateway.Mllp))
                {
                    foreach (var message in sent)
                        Hl7Samples.ReadAckOrNone(await SendOrSkipAsync(client, message));
                    await client.SendAsync(sent[0]); // a resend
                    await client.SendAsync(Hl7Samples.WithControlId(sent[^1], "REUSED")); // and a reused control id
                    await client.SendAsync(Hl7Samples.WithControlId(sent[^2], "REUSED"));
                    Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync(garbage)).Code);
                }
                await using (var client = await MllpTestClient.ConnectAsync(gateway.Mllp))
                {
                    // Oversize: a real message padded past the limit.
                    var big = sent.First(m => m.Length > 1000).Concat(Enumerable.Repeat((byte)'Z', 600_000)).ToArray();
                    Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync(big)).Code);
                }

                using var api = gateway.OperatorClient();
                var deadline = DateTime.UtcNow + TestGateway.Patience;
                while ((await TestGateway.Messages(api, "status=accepted")).Count > 0)
                {
                    Assert.True(DateTime.UtcNow < deadline, "processing did not finish");
                    await Task.Delay(100);
                }
                Assert.Equal(0, await gateway.StopAsync());

                var secrets = sent.Append(garbage).SelectMany(PatientValues).Append("SECRETIPP999").Append("GARBAGENAME")
                    .Where(v => v.Length >= 3).Distinct().ToList(); // shorter values (M, 1…) would match anything
                Assert.NotEmpty(secrets);
                output.WriteLine($"{gateway.Lines.Count} log lines checked for {secrets.Count} patient values:");
                foreach (var line in gateway.Lines)
                    output.WriteLine("  " + line);
                var leaks = (from line in gateway.Lines
                             where !DebugLine().IsMatch(line)
                             from secret in secrets
                             where line.Contains(secret, StringComparison.OrdinalIgnoreCase)
                             select $"'{secret}' in: {line}").ToList();
                Assert.True(leaks.Count == 0, "patient data in the logs:\n" + string.Join('\n', leaks));
                Assert.Contains(gateway.Lines, l => l.Contains(" warn: ", StringComparison.Ordinal)); // the rejections were logged
            }
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    private static async Task<byte[]?> SendOrSkipAsync(MllpTestClient client, byte[] message)
    {
        await client.WriteFrameAsync(message);
        // Acknowledgements (ACK, ZAM) are not answered: do not wait for an answer that never comes.
        var type = Hl7Message.Parse(message).Message?.MessageType;
        return type is "ACK" or "ZAM" ? null : await client.ReadFrameAsync();
    }

    /// <summary>PID-3 identifiers (IPP, INS) and PID-5 family and given names of a message.</summary>
    private static IEnumerable<string> PatientValues(byte[] bytes)
    {
        if (Hl7Message.Parse(bytes).Message is not { } message)
            yield break;
        foreach (var pid in message.SegmentsNamed("PID"))
        {
            var ids = pid.GetField(3);
            for (var r = 1; r <= ids.RepetitionCount; r++)
                yield return ids.GetRepetition(r).GetComponent(1).Value;
            var names = pid.GetField(5);
            for (var r = 1; r <= names.RepetitionCount; r++)
            {
                yield return names.GetRepetition(r).GetComponent(1).GetSubComponent(1).Value;
                yield return names.GetRepetition(r).GetComponent(2).Value;
            }
        }
    }

    [GeneratedRegex(@"^\S+ (dbug|trce): ")]
    private static partial Regex DebugLine();
}
