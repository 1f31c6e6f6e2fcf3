using System.Net.Sockets;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Reliability;

/// <summary>1,000 idle MLLP connections: memory stays bounded and the listener keeps serving others.</summary>
[Trait("Tier", "Slow")]
public sealed class IdleConnectionsTests
{
    private const int Idle = 1000;

    [Fact]
    public async Task A_thousand_idle_connections_cost_little_memory_and_do_not_stop_the_listener()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:MaxConnections"] = (Idle + 10).ToString(System.Globalization.CultureInfo.InvariantCulture),
            // All from 127.0.0.1: the per-address limit (default 100) is what this test is not about.
            ["Dmp:Mllp:MaxConnectionsPerAddress"] = (Idle + 10).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        // Warm the listener with one message, then take the baseline.
        await using (var warm = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await warm.SendAsync(Hl7Samples.Adt("IDLE-WARM"))).Code);
        var before = ManagedBytes();

        var idle = new List<TcpClient>(Idle);
        try
        {
            for (var i = 0; i < Idle; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(gateway.Mllp);
                idle.Add(client);
            }
            // Half of them start a frame and stop: the listener must not hold a buffer per byte promised.
            foreach (var client in idle.Where((_, i) => i % 2 == 0))
                await client.GetStream().WriteAsync(new byte[] { 0x0B, (byte)'M', (byte)'S', (byte)'H' });

            await using (var active = await gateway.ConnectAsync())
            {
                for (var i = 0; i < 20; i++)
                {
                    var ack = Hl7Samples.ReadAck(await active.SendAsync(Hl7Samples.Adt($"IDLE-{i:D2}")));
                    Assert.Equal(("AA", $"IDLE-{i:D2}"), (ack.Code, ack.ControlId));
                }
            }

            var growth = ManagedBytes() - before;
            // Generous: 64 KiB per idle connection would already be a leak worth finding.
            Assert.True(growth < Idle * 64L * 1024, $"managed memory grew by {growth / 1024} KiB for {Idle} idle connections");
            Assert.All(idle, c => Assert.True(c.Connected));
        }
        finally
        {
            foreach (var client in idle)
                client.Dispose();
        }

        // Closed idle connections leave the listener serving, and the half frames are stored as what came.
        await using var last = await gateway.ConnectAsync();
        Assert.Equal("AA", Hl7Samples.ReadAck(await last.SendAsync(Hl7Samples.Adt("IDLE-LAST"))).Code);
    }

    private static long ManagedBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
