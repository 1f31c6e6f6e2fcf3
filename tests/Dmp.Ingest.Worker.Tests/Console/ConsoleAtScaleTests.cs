using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dmp.Bench.Store;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store;
using Dmp.Store.Blobs;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// The operators' task at scale, in Chromium: among 100,000 stored messages (the bench's synthetic inbox) and a
/// patient's real traffic sent over MLLP, find that patient's messages by INS and by IPP, open the one that failed and
/// see why, then replay the patient's failed messages after confirming their count. The search's time is measured and
/// printed, never asserted.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class ConsoleAtScaleTests(ITestOutputHelper output)
{
    private const int Stored = 100_000;
    private const string Ins = "279035121518989";

    [Fact]
    public async Task An_operator_finds_a_patients_messages_among_100k_sees_why_one_failed_and_replays_the_failed_ones()
    {
        ConsoleChromium.Require();
        var dataDir = Directory.CreateTempSubdirectory("dmp-console-100k-");
        try
        {
            var fill = Stopwatch.StartNew();
            await using (var store = await DmpStore.OpenAsync(new StoreOptions(), new BlobOptions(), dataDir.FullName, CancellationToken.None))
                await InboxSearchCommand.SeedAsync(store, Stored, seed: 5, TextWriter.Null);
            output.WriteLine($"seeded {Stored} messages in {fill.Elapsed.TotalSeconds:0.0} s");

            await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:DataDir"] = dataDir.FullName });
            var radiology = Hl7Samples.Corpus("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7");
            await using (var client = await gateway.ConnectAsync())
            {
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"))).Code);
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(radiology)).Code);
                // Two copies whose embedded CDA was damaged on the way: they name the patient and fail on OBX-5.
                foreach (var controlId in (string[])["SCALE-BAD-1", "SCALE-BAD-2"])
                    Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Damaged(Hl7Samples.WithControlId(radiology, controlId)))).Code);
            }
            var bad = new List<long>();
            foreach (var controlId in (string[])["SCALE-BAD-1", "SCALE-BAD-2"])
                bad.Add((await gateway.WaitForStatusAsync((await gateway.SingleAsync(controlId)).Id(), "failed")).Id());
            await gateway.WaitForStatusAsync((await gateway.SingleAsync("3975")).Id(), "processed");
            await gateway.WaitForStatusAsync((await gateway.SingleAsync("015")).Id(), "processed");
            using (var stats = await gateway.Api.GetAsync("/api/messages/stats"))
                Assert.Equal(Stored + 4, JsonDocument.Parse(await stats.Content.ReadAsStringAsync()).RootElement.GetProperty("total").GetInt64());

            await using var chromium = await ConsoleChromium.LaunchAsync();
            var (page, problems) = await ConsoleChromium.OpenAsync(chromium.Browser);
            var baseUrl = $"http://{gateway.Http}";
            await page.GotoAsync(baseUrl + "/console/login");
            await page.Locator("input[name=token]").FillAsync(TestGateway.Token(DmpClaims.Operator));
            await page.Locator("input[name=token]").PressAsync("Enter");
            await page.WaitForURLAsync(new Regex("/console/$"));

            // By INS, typed in the form: the page answers with this patient's four messages and no one else's.
            await page.GotoAsync(baseUrl + "/console/messages");
            var rows = page.Locator("[data-testid=messages] tbody tr");
            var patient = page.Locator("form[role=search] input[name=patient]");
            await patient.FillAsync(Ins);
            var search = Stopwatch.StartNew();
            await ConsoleChromium.SubmitWithEnterAsync(page, patient, new Regex("patient=" + Ins));
            var byIns = search.Elapsed;
            Assert.Equal(4, await rows.CountAsync());
            Assert.Contains("total 4", await page.Locator("[data-testid=counts]").InnerTextAsync(), StringComparison.Ordinal);

            // By IPP (the PAM admission's, system|value): the same patient, the same messages.
            search.Restart();
            await page.GotoAsync(baseUrl + "/console/messages?patient=" + Uri.EscapeDataString("CHU-X|000003"));
            var byIpp = search.Elapsed;
            Assert.Equal(4, await rows.CountAsync());
            output.WriteLine($"among {Stored + 4} messages: by INS (form, Enter → page) {byIns.TotalMilliseconds:0} ms, by IPP (URL → page) {byIpp.TotalMilliseconds:0} ms");
            await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "messages-100k.png"), FullPage = true });

            // The failed one says why, and where.
            await ConsoleChromium.FollowLinkAsync(page, page.GetByRole(AriaRole.Link, new() { Name = "SCALE-BAD-1" }), new Regex($"/console/messages/{bad[0]}$"));
            Assert.Contains("not valid Base64", await page.Locator("[data-testid=error]").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal("OBX-5", await page.Locator("tr.failing").First.GetAttributeAsync("data-field"));

            // Replay the patient's failed messages: the confirmation names two, and exactly those two go round again.
            var before = new List<int>();
            foreach (var id in bad)
                before.Add((await gateway.GetAsync(id)).GetProperty("history").GetArrayLength());
            await page.GotoAsync(baseUrl + "/console/messages?status=failed&patient=" + Ins);
            await page.Locator("[data-testid=bulk-confirm] summary").ClickAsync();
            var confirm = page.Locator("[data-testid=bulk-confirm] button");
            Assert.Equal("Replay 2 messages", (await confirm.InnerTextAsync()).Trim());
            await confirm.ClickAsync();
            await page.WaitForURLAsync(new Regex("bulk="));
            Assert.Contains("of 2 requeued", await page.Locator("[data-testid=bulk-replay]").InnerTextAsync(), StringComparison.Ordinal);
            var deadline = DateTime.UtcNow + TestGateway.Patience;
            for (var i = 0; i < bad.Count; i++)
            {
                while ((await gateway.GetAsync(bad[i])).GetProperty("history").GetArrayLength() < before[i] + 2 && DateTime.UtcNow < deadline)
                    await Task.Delay(50);
                Assert.Equal(before[i] + 2, (await gateway.WaitForStatusAsync(bad[i], "failed")).GetProperty("history").GetArrayLength());
            }

            await ConsoleChromium.AssertAccessibleAsync(page, "messages-100k");
            Assert.Empty(problems);
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>The message with its first embedded document's Base64 broken (characters outside the alphabet).</summary>
    private static byte[] Damaged(byte[] message)
    {
        var text = Encoding.Latin1.GetString(message);
        var at = text.IndexOf("^Base64^", StringComparison.Ordinal);
        Assert.True(at > 0, "the radiology report carries no Base64 document");
        return Encoding.Latin1.GetBytes(text.Insert(at + "^Base64^".Length, "!!"));
    }
}
