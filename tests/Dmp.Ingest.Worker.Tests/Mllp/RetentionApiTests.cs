using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Dmp.Ingest.Worker.Retention;
using Dmp.Store;
using Dmp.Store.Inbox;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>Retention through the running gateway: what operators and senders see of a purged message.</summary>
public sealed class RetentionApiTests
{
    [Fact]
    public async Task A_purged_message_answers_410_for_its_raw_bytes_and_replay_and_a_resend_still_gets_its_stored_ack()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Retention:RawDays"] = "7",
            ["Dmp:Rules:ReloadSeconds"] = "0",
        });
        var store = gateway.Services.GetRequiredService<DmpStore>();
        var bytes = Hl7Samples.Adt("RETAINED-1");
        var ack = "MSH|^~\\&|DMP|DMP|APP|FAC|20250101000000||ACK^A01^ACK|STORED-ACK|P|2.5\rMSA|AA|RETAINED-1\r"u8.ToArray();
        var stored = await store.Writer.AppendAsync(
            new InboundFrame("mllp", Hl7Samples.Sender, "RETAINED-1", "ADT^A01", null, "127.0.0.1:1", bytes, bytes.Length,
                SHA256.HashData(bytes), false, DateTimeOffset.UtcNow - TimeSpan.FromDays(30)),
            _ => new InboxDecision(InboxStatus.Ignored, null, [], ack, "AA"), CancellationToken.None);
        var recent = await store.Writer.AppendAsync(
            new InboundFrame("mllp", Hl7Samples.Sender, "RECENT-1", "ADT^A01", null, "127.0.0.1:1", Hl7Samples.Adt("RECENT-1"), 10,
                SHA256.HashData(Hl7Samples.Adt("RECENT-1")), false, DateTimeOffset.UtcNow - TimeSpan.FromDays(6)),
            _ => new InboxDecision(InboxStatus.Ignored, null, [], ack, "AA"), CancellationToken.None);

        // The worker's own first run (at start) may get there first: either way the message is purged once this returns.
        await gateway.Services.GetRequiredService<RetentionWorker>().RunOnceAsync(CancellationToken.None);

        using (var raw = await gateway.Api.GetAsync($"/api/messages/{stored.Id}/raw"))
        {
            Assert.Equal(HttpStatusCode.Gone, raw.StatusCode);
            Assert.Equal("application/problem+json", raw.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(410, problem.GetProperty("status").GetInt32());
            Assert.Contains("purged by retention", problem.Str("detail"));
        }
        using (var replay = await gateway.Api.PostAsync($"/api/messages/{stored.Id}/replay", null))
        {
            Assert.Equal(HttpStatusCode.Gone, replay.StatusCode);
            Assert.Contains("cannot be replayed", JsonDocument.Parse(await replay.Content.ReadAsStringAsync()).RootElement.Str("detail"));
        }
        var detail = await gateway.GetAsync(stored.Id);
        Assert.Equal(JsonValueKind.String, detail.GetProperty("rawPurgedAt").ValueKind);
        Assert.Equal("ignored", detail.Str("status"));
        Assert.Equal(JsonValueKind.Null, (await gateway.GetAsync(recent.Id)).GetProperty("rawPurgedAt").ValueKind);
        using (var kept = await gateway.Api.GetAsync($"/api/messages/{recent.Id}/raw"))
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);

        // The sender resends the very bytes: recognised by their hash, answered with the ACK stored with them.
        await using var client = await gateway.ConnectAsync();
        Assert.Equal(ack, await client.SendAsync(bytes));
        var again = await gateway.GetAsync(stored.Id);
        Assert.Equal(2, again.GetProperty("receipts").GetInt32());
        Assert.Single(await gateway.MessagesAsync("controlId=RETAINED-1"));
    }
}
