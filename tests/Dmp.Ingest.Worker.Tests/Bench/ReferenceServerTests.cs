using System.Net;
using System.Net.Sockets;
using System.Text;
using Dmp.LoadGen;

namespace Dmp.Ingest.Worker.Tests.Bench;

/// <summary>The bench's reference server does what it stands for: durable append, then the ACK; its behaviour only, never its speed.</summary>
[Trait("Tier", "Slow")]
public sealed class ReferenceServerTests
{
    private static byte[] Frame(string controlId) => Encoding.ASCII.GetBytes(
        $"\u000bMSH|^~\\&|LAB|CHU|DMP|GW|20261203090000||ADT^A01|{controlId}|P|2.5\rPID|1||123^^^CHU^PI\r\u001c\r");

    [Fact]
    public async Task Frames_sent_together_are_appended_to_the_file_before_each_gets_its_own_ack_and_a_resent_frame_is_answered_again()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-reference-");
        try
        {
            await using var server = ReferenceServer.Start(IPAddress.Loopback, 0, dir.FullName);
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, server.Port);
            var stream = client.GetStream();
            var reader = new AckReader(stream);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string[] ids = ["REF-1", "REF-2", "REF-3"];

            await stream.WriteAsync(ids.SelectMany(Frame).ToArray(), limit.Token);
            foreach (var id in ids)
            {
                var ack = await reader.ReadFrameAsync(limit.Token);
                Assert.NotNull(ack);
                Assert.Equal(AckOutcome.Accepted, AckReader.Judge(ack, id));
                Assert.Contains($"MSA|AA|{id}", Encoding.ASCII.GetString(ack), StringComparison.Ordinal);
            }
            // Answered means on disk: the file already holds the three frames, byte for byte, in order.
            Assert.Equal(ids.SelectMany(Frame).ToArray(), await ReadSharedAsync(server.Path));
            Assert.Equal(3, server.Frames);

            await stream.WriteAsync(Frame("REF-1"), limit.Token);
            var again = await reader.ReadFrameAsync(limit.Token);
            Assert.NotNull(again);
            Assert.Equal(AckOutcome.Accepted, AckReader.Judge(again, "REF-1"));
            Assert.Equal(ids.SelectMany(Frame).Concat(Frame("REF-1")).ToArray(), await ReadSharedAsync(server.Path));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_frame_split_across_writes_is_acked_once_whole_and_the_command_wants_its_port_and_folder()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-reference-");
        try
        {
            await using (var server = ReferenceServer.Start(IPAddress.Loopback, 0, dir.FullName))
            {
                using var client = new TcpClient { NoDelay = true };
                await client.ConnectAsync(IPAddress.Loopback, server.Port);
                var stream = client.GetStream();
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var frame = Frame("SPLIT-1");

                await stream.WriteAsync(frame.AsMemory(0, 20), limit.Token);
                await stream.FlushAsync(limit.Token);
                await Task.Delay(200, limit.Token);
                Assert.Equal(0, server.Frames);
                await stream.WriteAsync(frame.AsMemory(20), limit.Token);

                var ack = await new AckReader(stream).ReadFrameAsync(limit.Token);
                Assert.Equal(AckOutcome.Accepted, AckReader.Judge(ack, "SPLIT-1"));
                Assert.Equal(frame, await ReadSharedAsync(server.Path));
            }
            Assert.Equal(64, await LoadGenCommand.RunAsync(["reference-server", "--dir", dir.FullName], TextWriter.Null, TextWriter.Null));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new MemoryStream();
        await file.CopyToAsync(bytes);
        return bytes.ToArray();
    }
}
