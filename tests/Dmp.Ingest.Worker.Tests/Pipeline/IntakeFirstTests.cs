using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Ingest.Worker.Tests.OperatorConsole;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Ingest.Worker.Tests.Telemetry;

namespace Dmp.Ingest.Worker.Tests.Pipeline;

/// <summary>
/// Intake first during a burst (`Dmp:Processing:*`), through the MLLP listener of an in-process gateway: processing waits
/// while frames arrive faster than the threshold, for at most the longest wait, and processes everything once the burst
/// ends; never when the ACK itself waits for processing. Thresholds far below any machine's rate keep the tests off the clock.
/// </summary>
public sealed class IntakeFirstTests
{
    private static Dictionary<string, string?> Deferring(string perSecond, string maxSeconds) => new()
    {
        ["Dmp:Processing:DeferAbovePerSecond"] = perSecond,
        ["Dmp:Processing:MaxDeferSeconds"] = maxSeconds,
    };

    /// <summary>Sends ADTs one after the other (each ACKed AA) until <paramref name="until"/> holds, at most <paramref name="max"/>.</summary>
    private static async Task<int> SendUntilAsync(MllpTestClient client, string prefix, int start, int max, Func<bool> until)
    {
        var sent = start;
        while (!until())
        {
            Assert.True(sent < max, $"sent {max} messages and the condition never held");
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"{prefix}-{sent}"))).Code);
            sent++;
        }
        return sent;
    }

    private static async Task WaitProcessedAsync(ProcessingWorker worker, long count)
    {
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (worker.Processed < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{worker.Processed} of {count} processed after the burst");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Processing_waits_while_a_burst_lasts_and_processes_all_of_it_once_it_ends()
    {
        await using var gateway = await TestGateway.StartAsync(Deferring(perSecond: "10", maxSeconds: "120"));
        var worker = gateway.Services.GetRequiredService<ProcessingWorker>();
        await using var client = await gateway.ConnectAsync();

        var sent = await SendUntilAsync(client, "BURST", 0, 5000, () => worker.Deferrals > 0);
        // A hundred more arrive while it waits: none of them (nor any waiting before) is processed meanwhile. A sender
        // stalled for 100 ms on a loaded machine ends the burst for a moment (processing then rightly goes on): such a
        // round is taken again, and one of three must go through without a break.
        var clean = false;
        for (var round = 0; round < 3 && !clean; round++)
        {
            var (processedBefore, deferralsBefore) = (worker.Processed, worker.Deferrals);
            for (var i = 0; i < 100; i++, sent++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"BURST-{sent}"))).Code);
            if (worker.Deferrals != deferralsBefore || !worker.WaitingForBurst)
                continue;
            Assert.Equal(processedBefore, worker.Processed);
            Assert.True(sent - processedBefore >= 100);
            clean = true;
        }
        Assert.True(clean, "in three rounds of 100 messages processing never kept waiting for a whole round");

        // The burst over, everything is processed.
        await WaitProcessedAsync(worker, sent);
        Assert.Equal(sent, (await gateway.MessagesAsync("status=processed")).Count);
        var scrape = await Scrape.FromAsync(gateway.Anonymous);
        Assert.Equal(worker.Deferrals, scrape.Value("dmp_processing_deferrals_total"));
    }

    [Fact]
    public async Task A_burst_longer_than_the_longest_wait_is_processed_while_it_goes_on()
    {
        await using var gateway = await TestGateway.StartAsync(Deferring(perSecond: "10", maxSeconds: "0.5"));
        var worker = gateway.Services.GetRequiredService<ProcessingWorker>();
        await using var client = await gateway.ConnectAsync();

        var sent = await SendUntilAsync(client, "LONG", 0, 5000, () => worker.Deferrals > 0);
        var processedWhenDeferred = worker.Processed;
        // The burst goes on (well above 10/s) until processing has moved on regardless: after its longest wait it
        // works through the backlog, arrivals or not.
        sent = await SendUntilAsync(client, "LONG", sent, sent + 20_000, () => worker.Processed > processedWhenDeferred);

        await WaitProcessedAsync(worker, sent);
        Assert.Equal(sent, (await gateway.MessagesAsync("status=processed")).Count);
    }

    [Fact]
    public async Task With_acks_after_processing_nothing_waits_for_the_burst()
    {
        var settings = Deferring(perSecond: "1", maxSeconds: "120");
        settings["Dmp:Mllp:AckMode"] = "Processed";
        await using var gateway = await TestGateway.StartAsync(settings);
        var worker = gateway.Services.GetRequiredService<ProcessingWorker>();
        await using var client = await gateway.ConnectAsync();

        // Each AA here is the answer after processing (Processed mode): a worker waiting for the burst would leave
        // them to the 30-s timeout instead.
        for (var i = 0; i < 40; i++)
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"PROC-{i}"))).Code);

        Assert.Equal(40, worker.Processed);
        Assert.Equal(0, worker.Deferrals);
    }

    [Fact]
    public async Task The_dashboard_says_processing_waits_while_it_does_and_no_longer_after()
    {
        await using var gateway = await TestGateway.StartAsync(Deferring(perSecond: "10", maxSeconds: "120"));
        var worker = gateway.Services.GetRequiredService<ProcessingWorker>();
        await using var chromium = await ConsoleChromium.LaunchAsync();
        var (page, problems) = await ConsoleChromium.OpenAsync(chromium.Browser);
        var baseUrl = $"http://{gateway.Http}";
        await page.GotoAsync(baseUrl + "/console/login");
        await page.Locator("input[name=token]").FillAsync(TestGateway.Token(DmpClaims.Operator));
        await page.Locator("input[name=token]").PressAsync("Enter");
        await page.WaitForURLAsync(new Regex("/console/$"));
        var waits = page.Locator("[data-testid=processing-waits]");
        Assert.Equal(0, await waits.CountAsync());

        // A sender keeps the burst going (far above 10/s) while the page is read.
        await using var client = await gateway.ConnectAsync();
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var sender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"DASH-{sent}"))).Code);
                sent++;
            }
        });
        try
        {
            // The page is read while processing waits (again, should a stalled sender have let it go on for a moment).
            var deadline = DateTime.UtcNow + TestGateway.Patience;
            do
            {
                while (!worker.WaitingForBurst)
                {
                    Assert.True(DateTime.UtcNow < deadline && !sender.IsCompleted, "processing never waited for the burst");
                    await Task.Delay(20);
                }
                await page.GotoAsync(baseUrl + "/console/");
            }
            while (await waits.CountAsync() == 0 && DateTime.UtcNow < deadline);

            Assert.Equal("processing waits for the burst of arrivals to end", (await waits.InnerTextAsync()).Trim());
            await ConsoleChromium.AssertAccessibleAsync(page, "dashboard while processing waits");
            await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "dashboard-burst.png"), FullPage = true });
        }
        finally
        {
            await stop.CancelAsync();
            await sender;
        }

        await WaitProcessedAsync(worker, sent);
        await page.GotoAsync(baseUrl + "/console/");
        Assert.Equal(0, await waits.CountAsync());
        Assert.Empty(problems);
    }
}
