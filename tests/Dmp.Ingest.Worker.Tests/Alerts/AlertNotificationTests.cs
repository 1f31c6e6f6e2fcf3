using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Dmp.Ingest.Worker.Alerts;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Alerts;

/// <summary>
/// Alerts end to end: real conditions in a real gateway (messages over MLLP), notifications to a real HTTP receiver and
/// a real SMTP server, once on firing and once on clearing whatever happens in between.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class AlertNotificationTests
{
    private static async Task<JsonElement> AlertsAsync(TestGateway gateway)
    {
        using var response = await gateway.Api.GetAsync("/api/alerts");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<JsonElement> RuleAsync(TestGateway gateway, string name) =>
        (await AlertsAsync(gateway)).GetProperty("rules").EnumerateArray().Single(r => r.Str("name") == name);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("timed out waiting until " + what);
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task An_inbox_backlog_notifies_webhook_and_smtp_once_when_it_fires_and_once_when_it_clears()
    {
        await using var webhook = await WebhookReceiver.StartAsync(failFirst: 1);
        await using var smtp = await SmtpServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Alerts:EvaluateSeconds"] = "1",
            ["Dmp:Alerts:Rules:0:Name"] = "backlog",
            ["Dmp:Alerts:Rules:0:When"] = "inbox-depth",
            ["Dmp:Alerts:Rules:0:Threshold"] = "3",
            ["Dmp:Alerts:Rules:0:For"] = "1",
            ["Dmp:Alerts:Webhook:Url"] = webhook.Url,
            ["Dmp:Alerts:Smtp:Host"] = "127.0.0.1",
            ["Dmp:Alerts:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Dmp:Alerts:Smtp:From"] = "dmp-ingest@hospital.example",
            ["Dmp:Alerts:Smtp:To"] = "ops@hospital.example",
        });
        var worker = gateway.Services.GetRequiredService<ProcessingWorker>();
        using (var stop = new CancellationTokenSource(TestGateway.Patience))
            await worker.StopAsync(stop.Token);
        Assert.Equal("ok", (await RuleAsync(gateway, "backlog")).Str("state"));

        // A backlog: messages stay accepted while processing is stopped; many more arrive while the rule fires.
        await using (var client = await gateway.ConnectAsync())
        {
            for (var i = 0; i < 3; i++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"BACKLOG-{i}"))).Code);
            await WaitUntilAsync(async () => (await RuleAsync(gateway, "backlog")).Str("state") == "firing", "the rule fires");
            for (var i = 3; i < 40; i++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"BACKLOG-{i}"))).Code);
        }
        await WaitUntilAsync(() => Task.FromResult(!webhook.Accepted.IsEmpty && smtp.Subjects.Count > 0), "the firing notifications arrive");
        await Task.Delay(TimeSpan.FromSeconds(3)); // three more evaluations, still above the threshold
        var firing = Assert.Single(webhook.Accepted);
        Assert.Equal(2, webhook.Requests); // the first POST was refused (503) and retried
        Assert.Equal("backlog", firing.Str("alert"));
        Assert.Equal("firing", firing.Str("state"));
        Assert.InRange(firing.GetProperty("value").GetDouble(), 3, 40);
        Assert.Equal(3, firing.GetProperty("threshold").GetDouble());
        Assert.True(firing.GetProperty("since").GetDateTimeOffset() < DateTimeOffset.UtcNow);
        Assert.Equal(["[dmp-ingest] FIRING: backlog"], smtp.Subjects);
        var rule = await RuleAsync(gateway, "backlog");
        Assert.Equal("firing", rule.Str("state"));
        Assert.Equal(40, rule.GetProperty("value").GetDouble());
        Assert.Equal("delivered", rule.GetProperty("lastNotification").Str("webhook"));
        Assert.Equal("delivered", rule.GetProperty("lastNotification").Str("email"));

        // Processing resumes, the backlog drains: one resolved notification on each channel.
        using (var start = new CancellationTokenSource(TestGateway.Patience))
            await worker.StartAsync(start.Token);
        await WaitUntilAsync(() => Task.FromResult(webhook.Accepted.Count == 2 && smtp.Subjects.Count == 2), "the resolved notifications arrive");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(["firing", "resolved"], webhook.Accepted.Select(b => b.Str("state")));
        Assert.Equal(["[dmp-ingest] FIRING: backlog", "[dmp-ingest] RESOLVED: backlog"], smtp.Subjects);
        var resolved = webhook.Accepted.Last();
        Assert.True(resolved.GetProperty("value").GetDouble() < 3);
        Assert.True(resolved.GetProperty("since").GetDateTimeOffset() >= firing.GetProperty("since").GetDateTimeOffset());
        Assert.Contains("state: resolved", smtp.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("DUPONT", smtp.Output, StringComparison.Ordinal); // counts and names only, no patient data
        rule = await RuleAsync(gateway, "backlog");
        Assert.Equal("ok", rule.Str("state"));
        Assert.Equal("resolved", rule.GetProperty("lastNotification").Str("state"));
    }

    [Fact]
    public async Task The_alerts_api_is_for_operators_and_lists_every_rule_with_its_state()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Alerts:EvaluateSeconds"] = "1",
            ["Dmp:Alerts:Rules:0:Name"] = "failures",
            ["Dmp:Alerts:Rules:0:When"] = "failed-rate",
            ["Dmp:Alerts:Rules:0:Threshold"] = "5",
            ["Dmp:Alerts:Rules:0:For"] = "00:02:00",
            ["Dmp:Alerts:Rules:1:Name"] = "certificates",
            ["Dmp:Alerts:Rules:1:When"] = "certificate-expiry",
            ["Dmp:Alerts:Rules:1:Threshold"] = "30",
        });

        using var anonymous = await gateway.Anonymous.GetAsync("/api/alerts");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var patient = await gateway.Client(TestGateway.Token("patient", ins: "123456789012345")).GetAsync("/api/alerts");
        Assert.Equal(HttpStatusCode.Forbidden, patient.StatusCode);

        await WaitUntilAsync(async () => (await RuleAsync(gateway, "failures")).Str("evaluatedAt") is not null, "a first evaluation");
        var alerts = await AlertsAsync(gateway);
        Assert.Equal(1, alerts.GetProperty("evaluateSeconds").GetInt32());
        var rules = alerts.GetProperty("rules").EnumerateArray().ToList();
        Assert.Equal(["failures", "certificates"], rules.Select(r => r.Str("name")));
        var failures = rules[0];
        Assert.Equal(("failed-rate", "ok", "messages per minute", 120d, 0d), (failures.Str("when"), failures.Str("state"), failures.Str("unit"),
            failures.GetProperty("forSeconds").GetDouble(), failures.GetProperty("value").GetDouble()));
        Assert.Null(failures.Str("lastNotification"));
        // No TLS configured: nothing to measure, the rule stays ok.
        Assert.Equal(("ok", null), (rules[1].Str("state"), rules[1].Str("value")));
    }

    [Fact]
    public async Task The_inbox_gauges_report_the_evaluators_snapshot_per_status_and_the_oldest_wait()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Alerts:EvaluateSeconds"] = "1" });
        using (var stop = new CancellationTokenSource(TestGateway.Patience))
            await gateway.Services.GetRequiredService<ProcessingWorker>().StopAsync(stop.Token);
        await using (var client = await gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("GAUGE-1"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("GAUGE-2"))).Code);
            Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync("not hl7"u8.ToArray())).Code);
        }
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        // Only this gateway's instruments: the listener sees every meter of the process.
        var factory = gateway.Services.GetRequiredService<IMeterFactory>();
        var byStatus = new Dictionary<string, long>();
        double? age = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == InboxGauges.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "dmp.inbox.messages")
                byStatus[(string)tags[0].Value!] = value;
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument.Name == "dmp.inbox.oldest_accepted_age")
                age = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(2, byStatus["accepted"]);
        Assert.Equal(1, byStatus["rejected"]);
        Assert.Equal(0, byStatus["processed"]);
        Assert.Equal(7, byStatus.Count);
        Assert.NotNull(age);
        Assert.InRange(age.Value, 0.5, 30);
    }

    [Fact]
    public async Task Unreachable_channels_are_retried_a_bounded_number_of_times_reported_as_failed_and_never_stop_evaluation()
    {
        var closed = ClosedPort();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Alerts:EvaluateSeconds"] = "1",
            ["Dmp:Alerts:Rules:0:Name"] = "always",
            ["Dmp:Alerts:Rules:0:When"] = "inbox-depth",
            ["Dmp:Alerts:Rules:0:Threshold"] = "0", // 0 waiting messages reach it: fires at the first evaluation
            ["Dmp:Alerts:Webhook:Url"] = $"http://127.0.0.1:{closed}/hook",
            ["Dmp:Alerts:Smtp:Host"] = "127.0.0.1",
            ["Dmp:Alerts:Smtp:Port"] = closed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Dmp:Alerts:Smtp:From"] = "dmp-ingest@hospital.example",
            ["Dmp:Alerts:Smtp:To"] = "ops@hospital.example",
        });

        await WaitUntilAsync(async () => (await RuleAsync(gateway, "always")).Str("state") == "firing", "the rule fires");
        var first = (await RuleAsync(gateway, "always")).GetProperty("evaluatedAt").GetDateTimeOffset();
        await Task.Delay(TimeSpan.FromSeconds(3)); // the webhook is still being retried (1, 2, 4, 8 s apart)
        var during = await RuleAsync(gateway, "always");
        Assert.True(during.GetProperty("evaluatedAt").GetDateTimeOffset() >= first.AddSeconds(2), "evaluation stalled behind the notification");
        Assert.Null(during.Str("lastNotification"));

        // 5 attempts per channel: 15 s of waits for the webhook, then the same for e-mail.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        JsonElement rule;
        do
        {
            await Task.Delay(500);
            rule = await RuleAsync(gateway, "always");
        }
        while (rule.Str("lastNotification") is null && DateTime.UtcNow < deadline);
        var notification = rule.GetProperty("lastNotification");
        Assert.Equal("firing", notification.Str("state"));
        Assert.Equal("failed: HttpRequestException", notification.Str("webhook"));
        Assert.StartsWith("failed: ", notification.Str("email"), StringComparison.Ordinal);
        Assert.Equal("firing", rule.Str("state"));
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
