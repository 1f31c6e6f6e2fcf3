using System.Text;
using System.Text.Json;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>The MLLP listener end to end: real Kestrel, real sockets on loopback, real SQLite, read back through the operator API.</summary>
public sealed class MllpListenerTests
{
    [Fact]
    public async Task Valid_adt_gets_AA_for_its_control_id_and_is_stored_with_its_identity()
    {
        await using var gateway = await TestGateway.StartAsync();
        var message = Hl7Samples.Adt("ADT-0001");
        await using var client = await gateway.ConnectAsync();

        var ack = Hl7Samples.ReadAck(await client.SendAsync(message));

        Assert.Equal("AA", ack.Code);
        Assert.Equal("ADT-0001", ack.ControlId);
        Assert.False(ack.HasErr);
        var row = await gateway.SingleAsync("ADT-0001");
        Assert.Contains(row.Str("status"), new[] { "accepted", "processed" });
        Assert.Equal(Hl7Samples.Sender, row.Str("sender"));
        Assert.Equal("mllp", row.Str("channel"));
        Assert.Equal(Hl7Samples.Sha256Hex(message), row.Str("sha256"), ignoreCase: true);
        Assert.Equal("ADT^A01", row.Str("messageType"));
        Assert.Equal("AA", row.Str("ackCode"));
        Assert.Equal(message.Length, row.GetProperty("length").GetInt64());
        Assert.Equal(1, row.GetProperty("receipts").GetInt32());
        Assert.StartsWith("127.0.0.1:", row.Str("remoteEndpoint"), StringComparison.Ordinal);
        Assert.DoesNotContain("control-id-reused", row.Warnings());
    }

    [Fact]
    public async Task Resent_message_gets_same_ack_and_is_stored_once()
    {
        await using var gateway = await TestGateway.StartAsync();
        var message = Hl7Samples.Adt("RESEND-1");
        var answers = new List<byte[]>();
        await using (var first = await gateway.ConnectAsync())
        {
            answers.Add((await first.SendAsync(message))!);
            answers.Add((await first.SendAsync(message))!);
        }
        await using (var second = await gateway.ConnectAsync())
            answers.Add((await second.SendAsync(message))!);

        Assert.Equal("AA", Hl7Samples.ReadAck(answers[0]).Code);
        Assert.All(answers, a => Assert.Equal(answers[0], a));
        var row = await gateway.SingleAsync("RESEND-1");
        Assert.Equal(3, row.GetProperty("receipts").GetInt32());
        var history = (await gateway.GetAsync(row.Id())).GetProperty("history").EnumerateArray().Select(h => h.Str("detail")).ToList();
        Assert.Equal(2, history.Count(d => d == "resent"));
    }

    [Fact]
    public async Task Reused_control_id_with_other_content_is_a_second_message_with_a_warning()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();

        var first = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("REUSED-1", note: "first")));
        var second = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("REUSED-1", note: "second")));

        Assert.Equal("AA", first.Code);
        Assert.Equal("AA", second.Code);
        var rows = await gateway.MessagesAsync("controlId=REUSED-1");
        Assert.Equal(2, rows.Count);
        Assert.Contains("control-id-reused", rows[0].Warnings()); // newest first
        Assert.DoesNotContain("control-id-reused", rows[1].Warnings());
        Assert.All(rows, r => Assert.NotEqual("rejected", r.Str("status")));
    }

    [Fact]
    public async Task Reused_control_id_from_a_strict_sender_is_rejected_with_AE()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:StrictSenders:0"] = Hl7Samples.Sender });
        await using var client = await gateway.ConnectAsync();

        var first = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("STRICT-1", note: "first")));
        var second = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("STRICT-1", note: "second")));

        Assert.Equal("AA", first.Code);
        Assert.Equal("AE", second.Code);
        Assert.Equal("STRICT-1", second.ControlId);
        Assert.True(second.HasErr, second.Raw);
        var rows = await gateway.MessagesAsync("controlId=STRICT-1");
        Assert.Equal(2, rows.Count);
        Assert.Equal("rejected", rows[0].Str("status"));
        Assert.Equal("AE", rows[0].Str("ackCode"));
        Assert.Contains("control-id-reused", rows[0].Warnings());
        Assert.NotNull(rows[0].Str("error"));
        Assert.NotEqual("rejected", rows[1].Str("status"));
    }

    [Fact]
    public async Task Garbage_frame_gets_AR_and_is_stored_rejected_and_the_connection_keeps_serving()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();
        var garbage = "this is not HL7 at all\r\u0001\u0002 binary"u8.ToArray();

        var nack = Hl7Samples.ReadAck(await client.SendAsync(garbage));
        var next = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("AFTER-GARBAGE")));

        Assert.Equal("AR", nack.Code);
        Assert.True(nack.HasErr, nack.Raw);
        Assert.Equal("AA", next.Code);
        Assert.Equal("AFTER-GARBAGE", next.ControlId);
        var rejected = Assert.Single(await gateway.MessagesAsync("status=rejected"));
        Assert.NotNull(rejected.Str("error"));
        Assert.Equal("AR", rejected.Str("ackCode"));
        Assert.Equal(Hl7Samples.Sha256Hex(garbage), rejected.Str("sha256"), ignoreCase: true);
        using var raw = await gateway.Api.GetAsync($"/api/messages/{rejected.Id()}/raw");
        Assert.Equal(garbage, await raw.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Message_with_a_broken_segment_gets_AR_naming_its_control_id_and_is_stored_under_its_sender()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();
        var broken = Hl7Samples.Adt("BROKEN-1").Concat("pv2 lower-case id\r"u8.ToArray()).ToArray();

        var nack = Hl7Samples.ReadAck(await client.SendAsync(broken));

        Assert.Equal(("AR", "BROKEN-1"), (nack.Code, nack.ControlId));
        Assert.True(nack.HasErr, nack.Raw);
        var row = await gateway.SingleAsync("BROKEN-1");
        Assert.Equal(("rejected", Hl7Samples.Sender, "ADT^A01"), (row.Str("status"), row.Str("sender"), row.Str("messageType")));
        Assert.Contains("segment 5", row.Str("error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversize_frame_gets_AR_and_the_connection_closes_and_its_length_and_hash_are_kept()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:MaxFrameBytes"] = "4096" });
        var big = Hl7Samples.Adt("BIG-1", note: new string('X', 20_000));
        await using (var client = await gateway.ConnectAsync())
        {
            var nack = Hl7Samples.ReadAck(await client.SendAsync(big));
            Assert.Equal("AR", nack.Code);
            Assert.Equal("BIG-1", nack.ControlId); // read from the kept header
            Assert.True(nack.HasErr, nack.Raw);
            Assert.True(await client.WaitClosedAsync(TestGateway.Patience), "the server should close the connection after an oversize frame");
        }

        await using (var again = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await again.SendAsync(Hl7Samples.Adt("AFTER-BIG"))).Code);

        var row = Assert.Single(await gateway.MessagesAsync("status=rejected"));
        Assert.Equal((Hl7Samples.Sender, "BIG-1"), (row.Str("sender"), row.Str("controlId")));
        Assert.True(row.GetProperty("truncated").GetBoolean());
        Assert.Equal(big.Length, row.GetProperty("length").GetInt64());
        Assert.Equal(Hl7Samples.Sha256Hex(big), row.Str("sha256"), ignoreCase: true);
        Assert.Contains("MaxFrameBytes", row.Str("error"), StringComparison.Ordinal);
        using var raw = await gateway.Api.GetAsync($"/api/messages/{row.Id()}/raw");
        Assert.Equal(big[..4096], await raw.Content.ReadAsByteArrayAsync()); // only the first bytes are kept
    }

    [Fact]
    public async Task Interrupted_frame_is_stored_rejected_and_answered_and_the_next_frame_gets_AA()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();
        var partial = Hl7Samples.Adt("INTERRUPTED-1")[..40];
        var full = Hl7Samples.Adt("FULL-1");

        await client.WriteRawAsync([0x0B, .. partial, .. MllpTestClient.Frame(full)]);
        var first = Hl7Samples.ReadAck(await client.ReadFrameAsync());
        var second = Hl7Samples.ReadAck(await client.ReadFrameAsync());

        Assert.Equal("AR", first.Code);
        Assert.True(first.HasErr);
        Assert.Equal("AA", second.Code);
        Assert.Equal("FULL-1", second.ControlId);
        var rejected = Assert.Single(await gateway.MessagesAsync("status=rejected"));
        Assert.Contains("interrupted", rejected.Str("error"), StringComparison.Ordinal);
        Assert.Equal(Hl7Samples.Sha256Hex(partial), rejected.Str("sha256"), ignoreCase: true);
        await gateway.SingleAsync("FULL-1");
    }

    [Fact]
    public async Task Connection_closed_mid_frame_leaves_a_rejected_row()
    {
        await using var gateway = await TestGateway.StartAsync();
        var partial = Hl7Samples.Adt("CUT-1")[..60];
        await using (var client = await gateway.ConnectAsync())
        {
            await client.WriteRawAsync([0x0B, .. partial]);
            client.ShutdownSend();
            Assert.True(await client.WaitClosedAsync(TestGateway.Patience));
        }

        var row = await WaitForSingleAsync(gateway, "status=rejected");
        Assert.StartsWith("connection closed", row.Str("error"), StringComparison.Ordinal);
        Assert.Equal(partial.Length, row.GetProperty("length").GetInt64());
        Assert.Equal(Hl7Samples.Sha256Hex(partial), row.Str("sha256"), ignoreCase: true);
    }

    [Fact]
    public async Task Bytes_outside_frames_do_not_disturb_the_frames_around_them_and_are_stored_rejected()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();

        await client.WriteRawAsync([.. "noise before\r\n"u8, .. MllpTestClient.Frame(Hl7Samples.Adt("NOISY-1")), .. "trailing noise"u8]);
        var ack = Hl7Samples.ReadAck(await client.ReadFrameAsync());
        var next = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("NOISY-2")));

        Assert.Equal(("AA", "NOISY-1"), (ack.Code, ack.ControlId));
        Assert.Equal(("AA", "NOISY-2"), (next.Code, next.ControlId));
        // Each burst outside a frame is one rejected message (issue 16: every input ends as one stored message).
        var rows = await gateway.MessagesAsync();
        Assert.Equal(4, rows.Count);
        Assert.Equal(2, rows.Count(r => r.Str("status") == "rejected" && r.Str("error")!.Contains("outside any MLLP frame", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Frame_written_one_byte_at_a_time_gets_AA()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();
        var frame = MllpTestClient.Frame(Hl7Samples.Adt("SLOW-1"));

        for (var i = 0; i < frame.Length; i++)
        {
            await client.WriteRawAsync([frame[i]]);
            if (i % 16 == 0)
                await Task.Delay(1);
        }
        var ack = Hl7Samples.ReadAck(await client.ReadFrameAsync());

        Assert.Equal(("AA", "SLOW-1"), (ack.Code, ack.ControlId));
        var row = await gateway.SingleAsync("SLOW-1");
        Assert.Equal(Hl7Samples.Sha256Hex(Hl7Samples.Adt("SLOW-1")), row.Str("sha256"), ignoreCase: true);
    }

    [Fact]
    public async Task Several_frames_in_one_write_are_all_answered_in_order()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();
        var ids = Enumerable.Range(1, 20).Select(i => $"BURST-{i:D2}").ToList();
        var garbageAt = 7;

        var bytes = new List<byte>();
        for (var i = 0; i < ids.Count; i++)
            bytes.AddRange(MllpTestClient.Frame(i == garbageAt ? "not hl7"u8.ToArray() : Hl7Samples.Adt(ids[i])));
        var writer = gateway.Services.GetRequiredService<DmpStore>().Writer;
        var commitsBefore = writer.Transactions;
        await client.WriteRawAsync(bytes.ToArray());
        var answers = new List<Hl7Samples.Answer>();
        for (var i = 0; i < ids.Count; i++)
            answers.Add(Hl7Samples.ReadAck(await client.ReadFrameAsync()));

        // Frames read together share commits (grouped commit), rather than one commit each.
        Assert.InRange(writer.Transactions - commitsBefore, 1, ids.Count - 1);

        for (var i = 0; i < ids.Count; i++)
        {
            if (i == garbageAt)
                Assert.Equal("AR", answers[i].Code);
            else
                Assert.Equal(("AA", ids[i]), (answers[i].Code, answers[i].ControlId));
        }
        Assert.Equal(ids.Count, (await gateway.MessagesAsync()).Count);
    }

    [Theory]
    [InlineData("french", "ans_TDCDA-2.1_ORU_INIT_ack.hl7", "016")]
    [InlineData("french", "ans_TDCDA-2.1_ZAM_Z01_reception_DMP.hl7", "017")]
    public async Task Inbound_acknowledgements_are_not_answered_and_are_stored_ignored(string folder, string file, string controlId)
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();

        await client.WriteFrameAsync(Hl7Samples.Corpus("hl7v2", folder, file));
        // Then a normal message: its answer must be the first (and only) frame that comes back.
        var next = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("AFTER-ACK")));

        Assert.Equal("AFTER-ACK", next.ControlId);
        var row = await gateway.SingleAsync(controlId);
        Assert.Equal("ignored", row.Str("status"));
        Assert.Null(row.Str("ackCode"));
        Assert.Equal("mllp/PFI-X|Organisation-X", row.Str("sender"));
    }

    [Fact]
    public async Task Enhanced_mode_AL_gets_CA()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();

        var ack = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("ENH-AL", acceptAck: "AL", appAck: "NE")));

        Assert.Equal(("CA", "ENH-AL"), (ack.Code, ack.ControlId));
        Assert.Equal("CA", (await gateway.SingleAsync("ENH-AL")).Str("ackCode"));
    }

    [Fact]
    public async Task Enhanced_mode_NE_gets_no_answer_and_is_stored()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();

        await client.WriteFrameAsync(Hl7Samples.Adt("ENH-NE", acceptAck: "NE", appAck: "NE"));
        var next = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("ENH-AFTER", acceptAck: "AL")));

        Assert.Equal(("CA", "ENH-AFTER"), (next.Code, next.ControlId));
        var row = await gateway.SingleAsync("ENH-NE");
        Assert.Contains(row.Str("status"), new[] { "accepted", "processed" });
        Assert.Null(row.Str("ackCode"));
    }

    private static async Task<JsonElement> WaitForSingleAsync(TestGateway gateway, string query)
    {
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (true)
        {
            var rows = await gateway.MessagesAsync(query);
            if (rows.Count > 0 || DateTime.UtcNow > deadline)
                return Assert.Single(rows);
            await Task.Delay(50);
        }
    }

    internal static string Text(byte[] bytes) => Encoding.Latin1.GetString(bytes);
}
