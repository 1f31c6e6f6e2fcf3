using System.Text;
using System.Net;
using System.Text.Json;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Interop;
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

    [Fact]
    public async Task Certificate_expiry_measures_the_days_left_on_the_mllp_certificate_and_fires_at_or_below_the_threshold()
    {
        using var pki = new TestCertificates(); // the server certificate expires in 30 days
        var settings = pki.ServerSettings();
        settings["Dmp:Alerts:EvaluateSeconds"] = "1";
        settings["Dmp:Alerts:Rules:0:Name"] = "within-a-month";
        settings["Dmp:Alerts:Rules:0:When"] = "certificate-expiry";
        settings["Dmp:Alerts:Rules:0:Threshold"] = "30";
        settings["Dmp:Alerts:Rules:1:Name"] = "within-four-weeks";
        settings["Dmp:Alerts:Rules:1:When"] = "certificate-expiry";
        settings["Dmp:Alerts:Rules:1:Threshold"] = "28";
        await using var gateway = await TestGateway.StartAsync(settings);

        JsonElement[] rules;
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        do
        {
            await Task.Delay(200);
            using var response = await gateway.Api.GetAsync("/api/alerts");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            rules = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("rules").EnumerateArray().Select(r => r.Clone()).ToArray();
        }
        while (rules.Any(r => r.Str("evaluatedAt") is null) && DateTime.UtcNow < deadline);

        Assert.Equal("firing", rules[0].Str("state"));
        Assert.InRange(rules[0].GetProperty("value").GetDouble(), 29.9, 30);
        Assert.Equal("days", rules[0].Str("unit"));
        Assert.Equal("ok", rules[1].Str("state"));
    }
}
