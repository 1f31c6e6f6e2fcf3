using System.Text;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dmp.Ingest.Worker.Tests.Alerts;

/// <summary>
/// The sender-bound rules on a real gateway: frames from a facility the sender may not speak for (rejected over MLLP)
/// and a silent sender. The gateway's clock is moved forward instead of waiting out the rate window or the silence.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class AlertConditionTests
{
    private static Dictionary<string, string?> Settings(string webhook, params (string Key, string Value)[] rule)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Senders:0:Name"] = "lab",
            ["Dmp:Mllp:Senders:0:Addresses:0"] = "127.0.0.1",
            ["Dmp:Mllp:Senders:0:Facilities:0"] = "LAB",
            ["Dmp:Alerts:EvaluateSeconds"] = "1",
            ["Dmp:Alerts:Webhook:Url"] = webhook,
        };
        foreach (var (key, value) in rule)
            settings["Dmp:Alerts:Rules:0:" + key] = value;
        return settings;
    }

    private static byte[] FromLab(string controlId) =>
        Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Hl7Samples.Adt(controlId)).Replace("|APP|FAC|", "|APP|LAB|", StringComparison.Ordinal));

    private static async Task WaitForAsync(WebhookReceiver webhook, int count)
    {
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (webhook.Accepted.Count < count)
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"{webhook.Accepted.Count} webhook notification(s), expected {count}: {string.Join(", ", webhook.Accepted)}");
            await Task.Delay(100);
        }
        await Task.Delay(TimeSpan.FromSeconds(3)); // three more evaluations: nothing else may arrive
    }

    [Fact]
    public async Task Rejected_frames_over_mllp_fire_the_rejected_rate_once_and_it_resolves_once_the_minute_has_passed()
    {
        await using var webhook = await WebhookReceiver.StartAsync();
        var clock = new TestClock();
        await using var gateway = await TestGateway.StartAsync(
            Settings(webhook.Url, ("Name", "refused"), ("When", "rejected-rate"), ("Threshold", "3")),
            b => b.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));

        await using (var client = await gateway.ConnectAsync())
        {
            for (var i = 0; i < 3; i++)
                Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"NOT-LAB-{i}"))).Code);
            await WaitForAsync(webhook, 1);
            for (var i = 3; i < 30; i++) // the flood goes on while it fires
                Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"NOT-LAB-{i}"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(FromLab("LAB-1"))).Code);
        }
        await Task.Delay(TimeSpan.FromSeconds(2));
        var firing = Assert.Single(webhook.Accepted);
        Assert.Equal(("refused", "firing"), (firing.Str("alert"), firing.Str("state")));
        Assert.InRange(firing.GetProperty("value").GetDouble(), 3, 30);

        clock.Offset = TimeSpan.FromMinutes(2); // the trailing minute now holds no rejection
        await WaitForAsync(webhook, 2);

        Assert.Equal(["firing", "resolved"], webhook.Accepted.Select(b => b.Str("state")));
        Assert.Equal(0, webhook.Accepted.Last().GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task A_configured_sender_that_never_sent_fires_sender_silent_counted_from_start_and_its_first_message_resolves_it()
    {
        await using var webhook = await WebhookReceiver.StartAsync();
        var clock = new TestClock();
        await using var gateway = await TestGateway.StartAsync(
            Settings(webhook.Url, ("Name", "lab-quiet"), ("When", "sender-silent"), ("Sender", "lab"), ("Threshold", "120"), ("For", "00:00:00")),
            b => b.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(webhook.Accepted); // silent for 2 s only

        clock.Offset = TimeSpan.FromMinutes(5);
        await WaitForAsync(webhook, 1);
        var firing = Assert.Single(webhook.Accepted);
        Assert.Equal(("lab-quiet", "firing"), (firing.Str("alert"), firing.Str("state")));
        Assert.InRange(firing.GetProperty("value").GetDouble(), 300, 330);

        await using (var client = await gateway.ConnectAsync())
        {
            for (var i = 0; i < 10; i++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(FromLab($"LAB-{i}"))).Code);
        }
        await WaitForAsync(webhook, 2);

        Assert.Equal(["firing", "resolved"], webhook.Accepted.Select(b => b.Str("state")));
        Assert.InRange(webhook.Accepted.Last().GetProperty("value").GetDouble(), 0, 60);
    }
}
