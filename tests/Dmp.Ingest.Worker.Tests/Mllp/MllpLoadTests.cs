using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>Many connections at once, connection limits and idle connections.</summary>
[Trait("Tier", "Slow")]
public sealed class MllpLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Resend_storm_from_many_connections_stores_each_message_once_with_one_answer()
    {
        const int connections = 8, messages = 50, rounds = 3;
        await using var gateway = await TestGateway.StartAsync();
        var corpus = Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7");
        var payloads = Enumerable.Range(0, messages).Select(i => Hl7Samples.WithControlId(corpus, $"STORM-{i:D3}")).ToArray();
        var answers = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        var clock = Stopwatch.StartNew();

        await Task.WhenAll(Enumerable.Range(0, connections).Select(async c =>
        {
            await using var client = await gateway.ConnectAsync();
            for (var round = 0; round < rounds; round++)
            {
                // Each connection walks the list from its own starting point, so the same message is often in flight on several at once.
                for (var k = 0; k < messages; k++)
                {
                    var i = (k + c * 7) % messages;
                    var ack = Hl7Samples.ReadAck(await client.SendAsync(payloads[i]));
                    answers.GetOrAdd($"STORM-{i:D3}", _ => []).Add(ack.Raw);
                }
            }
        }));
        var elapsed = clock.Elapsed;

        var total = connections * messages * rounds;
        output.WriteLine($"resend storm: {total} frames over {connections} connections in {elapsed.TotalSeconds:F1} s = {total / elapsed.TotalSeconds:F0} frames/s");
        var rows = await gateway.MessagesAsync();
        Assert.Equal(messages, rows.Count);
        Assert.All(rows, r => Assert.Equal(connections * rounds, r.GetProperty("receipts").GetInt32()));
        Assert.Equal(messages, answers.Count);
        foreach (var (controlId, acks) in answers)
        {
            Assert.Equal(connections * rounds, acks.Count);
            Assert.Single(acks.Distinct());
            var ack = Hl7Samples.ReadAck(System.Text.Encoding.Latin1.GetBytes(acks.First()));
            Assert.Equal(("AA", controlId), (ack.Code, ack.ControlId));
        }
    }

    [Fact]
    public async Task Connection_beyond_MaxConnections_is_closed_and_the_others_keep_working()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:MaxConnections"] = "2" });
        await using var first = await gateway.ConnectAsync();
        await using var second = await gateway.ConnectAsync();
        // Both are served (so the server has counted them) before the third arrives.
        Assert.Equal("AA", Hl7Samples.ReadAck(await first.SendAsync(Hl7Samples.Adt("MAX-1"))).Code);
        Assert.Equal("AA", Hl7Samples.ReadAck(await second.SendAsync(Hl7Samples.Adt("MAX-2"))).Code);

        // The server may close the third so early that the client's connect itself sees the reset (once on a clean-clone run).
        MllpTestClient? third = null;
        try
        {
            third = await gateway.ConnectAsync();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
        if (third is not null)
        {
            await using (third)
                Assert.True(await third.WaitClosedAsync(TestGateway.Patience), "the third connection should be closed by the server");
        }

        Assert.Equal("AA", Hl7Samples.ReadAck(await first.SendAsync(Hl7Samples.Adt("MAX-3"))).Code);
        Assert.Equal("AA", Hl7Samples.ReadAck(await second.SendAsync(Hl7Samples.Adt("MAX-4"))).Code);
        Assert.Equal(4, (await gateway.MessagesAsync()).Count);
    }

    [Fact]
    public async Task An_unfinished_frame_counts_against_the_in_flight_budget_and_others_wait_until_it_completes()
    {
        // Budget 4096 bytes: A's unfinished 3000-byte frame leaves too little for B's 2000-byte frame.
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:MaxFrameBytes"] = "4096",
            ["Dmp:Mllp:MaxInFlightBytes"] = "4096",
        });
        var a = Hl7Samples.Adt("BUDGET-A", note: new string('a', 3200));
        var b = Hl7Samples.Adt("BUDGET-B", note: new string('b', 1900));
        await using var clientA = await gateway.ConnectAsync();
        await using var clientB = await gateway.ConnectAsync();

        await clientA.WriteRawAsync([0x0B, .. a[..3000]]);
        await Task.Delay(300); // let the listener read A's bytes and hold budget for them
        await clientB.WriteFrameAsync(b);
        byte[]? early;
        try
        {
            early = await clientB.ReadFrameAsync(TimeSpan.FromSeconds(1.5));
        }
        catch (TimeoutException)
        {
            early = null; // B waits: the budget is spent by A's unfinished frame
        }

        await clientA.WriteRawAsync([.. a[3000..], 0x1C, 0x0D]);
        var answerA = Hl7Samples.ReadAck(await clientA.ReadFrameAsync());
        var answerB = Hl7Samples.ReadAck(early ?? await clientB.ReadFrameAsync());

        Assert.Null(early);
        Assert.Equal(("AA", "BUDGET-A"), (answerA.Code, answerA.ControlId));
        Assert.Equal(("AA", "BUDGET-B"), (answerB.Code, answerB.ControlId));
    }

    [Fact]
    public async Task Idle_connection_is_closed_after_the_timeout()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:IdleTimeoutSeconds"] = "1" });
        await using var client = await gateway.ConnectAsync();
        Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("IDLE-1"))).Code);

        Assert.True(await client.WaitClosedAsync(TestGateway.Patience), "a silent connection should be closed");
    }

    [Fact]
    public async Task Idle_timeout_in_the_middle_of_a_frame_stores_what_came()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:IdleTimeoutSeconds"] = "1" });
        var partial = Hl7Samples.Adt("IDLE-PARTIAL")[..50];
        await using (var client = await gateway.ConnectAsync())
        {
            await client.WriteRawAsync([0x0B, .. partial]);
            Assert.True(await client.WaitClosedAsync(TestGateway.Patience), "a silent connection should be closed");
        }

        var deadline = DateTime.UtcNow + TestGateway.Patience;
        IReadOnlyList<System.Text.Json.JsonElement> rows;
        while ((rows = await gateway.MessagesAsync()).Count == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        var row = Assert.Single(rows);
        Assert.Equal("rejected", row.Str("status"));
        Assert.Equal(Hl7Samples.Sha256Hex(partial), row.Str("sha256"), ignoreCase: true);
    }
}
