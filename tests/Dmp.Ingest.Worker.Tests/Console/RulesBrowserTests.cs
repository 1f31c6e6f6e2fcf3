using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.OperatorConsole;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Ingest.Worker.Tests.Rules;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// A gateway in `Dmp:Rules:Reload=manual` over a temporary copy of the rules, fed corpus traffic over MLLP, and
/// Debian's chromium: the rules page as an integration engineer uses it.
/// </summary>
public sealed class RulesBrowserFixture : IAsyncLifetime
{
    private ConsoleChromium? _chromium;
    private TestGateway? _gateway;

    internal RulesWorkbench Rules { get; } = new();
    internal TestGateway Gateway => _gateway!;
    public IBrowser Browser => _chromium!.Browser;
    public string BaseUrl => $"http://{Gateway.Http}";
    public long AdmissionId { get; private set; }
    public string Sender { get; private set; } = "";

    /// <summary>The messages with an inpatient visit (PV1-2 = I), which the code-table edit changes.</summary>
    public IReadOnlyList<long> Inpatients { get; private set; } = [];

    public async Task InitializeAsync()
    {
        ConsoleChromium.Require();
        _gateway = await TestGateway.StartAsync(Rules.Settings(reload: "manual"));
        await using (var client = await _gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"))).Code);
            for (var i = 1; i <= 3; i++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(RulesWorkbench.Adt($"RB-IN-{i}", "I"))).Code);
            for (var i = 1; i <= 2; i++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(RulesWorkbench.Adt($"RB-OUT-{i}", "O"))).Code);
        }
        var rows = await _gateway.MessagesAsync();
        foreach (var row in rows)
            await _gateway.WaitForStatusAsync(row.Id(), "processed");
        AdmissionId = rows.Single(r => r.Str("controlId") == "3975").Id();
        Sender = rows.Single(r => r.Str("controlId") == "RB-IN-1").Str("sender")!;
        Inpatients = [.. rows.Where(r => r.Str("controlId")!.StartsWith("RB-IN-", StringComparison.Ordinal)).Select(r => r.Id())];

        _chromium = await ConsoleChromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
            await _chromium.DisposeAsync();
        if (_gateway is not null)
            await _gateway.DisposeAsync();
        Rules.Dispose();
    }
}

/// <summary>Issue 20's done-when in Chromium: edit a code table on disk, preview its impact, see what changes and how, then reload from the page.</summary>
[Trait("Tier", "Slow")]
public sealed class RulesBrowserTests(RulesBrowserFixture fixture) : IClassFixture<RulesBrowserFixture>
{
    [Fact]
    public async Task An_engineer_edits_a_code_table_previews_the_change_on_a_senders_messages_and_only_then_reloads()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page);

        // From a message's detail page: the explanation, and no difference while disk and loaded rules agree.
        await page.GotoAsync($"{fixture.BaseUrl}/console/messages/{fixture.AdmissionId}");
        await page.Locator("[data-testid=try-rules]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/console/rules\\?message="));
        Assert.Equal("manual", await page.Locator("[data-testid=reload-mode]").InnerTextAsync());
        Assert.Contains("pam-fr-adt.yaml", await page.Locator("[data-testid=rule-chosen]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("PV1-2", await page.Locator("[data-testid=fields-read]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("No difference", await page.Locator("[data-testid=trial-diff]").InnerTextAsync(), StringComparison.Ordinal);
        await AssertAccessibleAsync(page, "rules (message)");

        // The engineer edits the table on disk: the same message now shows the field that changes.
        fixture.Rules.EditInpatientToEmergency();
        await page.ReloadAsync();
        Assert.Contains("edited since loaded", await page.Locator("[data-testid=disk-state]").InnerTextAsync(), StringComparison.Ordinal);
        var diff = await page.Locator("[data-testid=trial-diff] tbody tr").AllInnerTextsAsync();
        var row = Assert.Single(diff);
        Assert.Matches(@"Encounter/\S+\s+class\.code\s+IMP\s+EMER", row);

        // The preview over the sender's last 1,000 messages: exactly the inpatient visits change, each linking to its detail.
        await page.Locator("input[name=sender]").FillAsync(fixture.Sender);
        await page.Locator("input[name=type]").FillAsync("ADT^A01");
        await page.Locator("input[name=limit]").FillAsync("1000");
        await page.Locator("[data-testid=preview]").ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=preview-counts]");
        Assert.Contains("5 examined, 3 changed, 0 fail", await page.Locator("[data-testid=preview-counts]").InnerTextAsync(), StringComparison.Ordinal);
        var changed = await page.Locator("[data-testid=preview-items] > tbody > tr").EvaluateAllAsync<long[]>("rows => rows.map(r => Number(r.dataset.message))");
        Assert.Equal(fixture.Inpatients.Order(), changed.Order());
        Assert.Contains("EMER", await page.Locator("[data-testid=preview-items]").InnerTextAsync(), StringComparison.Ordinal);
        await AssertAccessibleAsync(page, "rules (preview)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "rules.png"), FullPage = true });
        var previewUrl = page.Url;
        await page.Locator($"[data-testid=preview-items] tr[data-message='{changed[0]}'] a").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/console/messages/{changed[0]}$"));

        // Loaded only now, from the page: the preview finds nothing more to change.
        await page.GotoAsync(previewUrl);
        await page.Locator("[data-testid=reload]").ClickAsync();
        await page.WaitForURLAsync(new Regex("reload=done"));
        Assert.Contains("now in force", await page.Locator("[data-testid=reload-result]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("as loaded", await page.Locator("[data-testid=disk-state]").InnerTextAsync(), StringComparison.Ordinal);
        await page.GotoAsync(previewUrl);
        Assert.Contains("5 examined, 0 changed", await page.Locator("[data-testid=preview-counts]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task A_pasted_message_is_tried_and_a_broken_edit_shows_its_position_and_its_reload_is_refused()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page);
        await page.GotoAsync(fixture.BaseUrl + "/console/rules");
        await page.Locator("[data-testid=paste]").FillAsync(System.Text.Encoding.ASCII.GetString(RulesWorkbench.Adt("PASTED-1", "O")).Replace("\r", "\n", StringComparison.Ordinal));
        await page.Locator("[data-testid=try]").ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=rule-chosen]");
        Assert.Contains("pasted", await page.Locator("[data-testid=trial-source]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("AMB", await page.Locator("[data-testid=bundle]").TextContentAsync() ?? "", StringComparison.Ordinal);
        await AssertAccessibleAsync(page, "rules (pasted)");

        var table = await File.ReadAllTextAsync(fixture.Rules.EncounterClassTable);
        try
        {
            fixture.Rules.Edit(fixture.Rules.EncounterClassTable, "  O: AMB", "  O: [AMB");
            await page.GotoAsync(fixture.BaseUrl + "/console/rules");
            Assert.Matches(@"encounter-class\.yaml:\d+:\d+: ", await page.Locator("[data-testid=disk-errors]").InnerTextAsync());
            // A click that leaves the page idle is clicked again (a clean-clone run timed out here once): a refused reload
            // changes nothing, so a second one answers the same.
            await ConsoleChromium.FollowLinkAsync(page, page.Locator("[data-testid=reload]"), new Regex("reload=refused"));
            await page.Locator("[data-testid=reload-result]").WaitForAsync();
            Assert.Contains("Reload refused", await page.Locator("[data-testid=reload-result]").InnerTextAsync(), StringComparison.Ordinal);
            await AssertAccessibleAsync(page, "rules (refused)");
        }
        finally
        {
            await File.WriteAllTextAsync(fixture.Rules.EncounterClassTable, table);
            File.SetLastWriteTimeUtc(fixture.Rules.EncounterClassTable, DateTime.UtcNow.AddSeconds(4));
        }
        Assert.Empty(problems);
    }

    private static Task AssertAccessibleAsync(IPage page, string name) => ConsoleChromium.AssertAccessibleAsync(page, name);

    private Task<(IPage Page, List<string> Problems)> OpenAsync() => ConsoleChromium.OpenAsync(fixture.Browser);

    private async Task SignInAsync(IPage page)
    {
        await page.GotoAsync(fixture.BaseUrl + "/console/login");
        await page.Locator("input[name=token]").FillAsync(TestGateway.Token(DmpClaims.Operator));
        await page.Locator("input[name=token]").PressAsync("Enter");
        await page.WaitForSelectorAsync("form[action='/console/signout']", new() { State = WaitForSelectorState.Attached });
    }
}
