using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.OperatorConsole;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>The console in a real browser: sign-in by Enter, each page, roles, filters, a failure's position, replay, language, CSP, axe.</summary>
[Trait("Tier", "Slow")]
public sealed class ConsoleBrowserTests(ConsoleBrowserFixture fixture) : IClassFixture<ConsoleBrowserFixture>
{
    [Fact]
    public async Task Operator_signs_in_through_the_form_with_Enter_and_lands_where_they_were_going()
    {
        var (page, problems) = await OpenAsync();

        await page.GotoAsync(fixture.BaseUrl + "/console/messages?status=processed");
        Assert.Contains("/console/login", page.Url, StringComparison.Ordinal);
        await page.Locator("input[name=token]").FillAsync(TestGateway.Token(DmpClaims.Operator));
        await page.Locator("input[name=token]").PressAsync("Enter");
        await page.WaitForURLAsync(new Regex("/console/messages"));

        Assert.EndsWith("/console/messages?status=processed", page.Url, StringComparison.Ordinal);
        Assert.True(await page.Locator("[data-testid=messages] tbody tr").CountAsync() >= 2);
        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == ConsoleHosting.CookieName);
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task A_wrong_token_stays_on_the_login_page_with_a_reason()
    {
        var (page, _) = await OpenAsync();
        await page.GotoAsync(fixture.BaseUrl + "/console/login");
        await page.Locator("input[name=token]").FillAsync("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoib3BlcmF0b3IifQ.c2lnbmF0dXJl");
        await page.Locator("input[name=token]").PressAsync("Enter");
        await page.WaitForURLAsync(new Regex("error="));

        Assert.Contains("not valid", await page.Locator("[data-testid=login-error]").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_role_gets_the_not_for_your_role_page_with_403()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TokenIssuer.Issue(System.Text.Encoding.UTF8.GetBytes(TestGateway.SigningKey), "dmp-ingest", DmpClaims.Professional, null, "10000000001", null, TimeSpan.FromHours(1)));

        var response = await page.GotoAsync(fixture.BaseUrl + "/console/messages");

        Assert.Equal(403, response!.Status);
        Assert.Contains("professional", await page.Locator("[data-testid=forbidden]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("[data-testid=messages]").CountAsync());
        await AssertAccessibleAsync(page, "forbidden");
        Assert.All(problems, p => Assert.Contains("403", p, StringComparison.Ordinal)); // the browser reports the page's own 403
    }

    [Fact]
    public async Task Messages_filter_by_control_id_and_by_status_from_the_form()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        await page.GotoAsync(fixture.BaseUrl + "/console/messages");

        await page.Locator("input[name=controlId]").FillAsync("CONS-OK-1");
        await page.Locator("input[name=controlId]").PressAsync("Enter");
        await page.WaitForURLAsync(new Regex("controlId=CONS-OK-1"));
        var rows = page.Locator("[data-testid=messages] tbody tr");
        Assert.Equal(1, await rows.CountAsync());
        Assert.Contains("CONS-OK-1", await rows.First.InnerTextAsync(), StringComparison.Ordinal);

        await page.GotoAsync(fixture.BaseUrl + "/console/messages");
        await page.Locator("select[name=status]").SelectOptionAsync("failed");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("status=failed"));
        var statuses = await page.Locator("[data-testid=messages] tbody td.status-failed").AllInnerTextsAsync();
        Assert.Equal(await rows.CountAsync(), statuses.Count);
        Assert.Contains("CONS-NOPID", await page.Locator("[data-testid=messages]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("CONS-OK-1", await page.Locator("[data-testid=messages]").InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "messages.png"), FullPage = true });
        await AssertAccessibleAsync(page, "messages");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Filtering_by_INS_or_by_IPP_shows_that_patients_messages_and_no_one_elses()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        var rows = page.Locator("[data-testid=messages] tbody tr");
        // Identifiers are indexed when a message is processed: wait for the three messages the filters should find.
        foreach (var controlId in (string[])["3975", "CONS-OK-1", "CONS-OK-2"])
            await fixture.Gateway.WaitForStatusAsync((await fixture.Gateway.SingleAsync(controlId)).Id(), "processed", "held", "failed");

        // The French admission names its patient by INS and by IPP 000003; the two CONS-OK messages by IPP 123456.
        foreach (var identifier in (string[])["279035121518989", "1.2.250.1.213.1.4.10|279035121518989", "000003"])
        {
            // Opened filtered, as a link or a bookmark does (the form's Enter is the control-id test's).
            var response = await page.GotoAsync(fixture.BaseUrl + "/console/messages?patient=" + Uri.EscapeDataString(identifier));
            Assert.Equal(200, response!.Status);
            Assert.Equal(identifier, await page.Locator("form[role=search] input[name=patient]").InputValueAsync());
            Assert.Equal(1, await rows.CountAsync());
            Assert.Contains("3975", await rows.First.InnerTextAsync(), StringComparison.Ordinal);
            Assert.Contains("total 1", await page.Locator("[data-testid=counts]").InnerTextAsync(), StringComparison.Ordinal);
        }

        await page.GotoAsync(fixture.BaseUrl + "/console/messages?patient=123456");
        var listed = await page.Locator("[data-testid=messages]").InnerTextAsync();
        Assert.Equal(2, await rows.CountAsync());
        Assert.Contains("CONS-OK-1", listed, StringComparison.Ordinal);
        Assert.Contains("CONS-OK-2", listed, StringComparison.Ordinal);
        Assert.DoesNotContain("3975", listed, StringComparison.Ordinal);
        await AssertAccessibleAsync(page, "messages-by-patient");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Bulk_replay_of_a_filtered_selection_replays_exactly_the_confirmed_count()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        var selected = new[] { "CONS-OK-1", "CONS-OK-2" };
        var ids = new List<long>();
        foreach (var controlId in selected)
        {
            var id = (await fixture.Gateway.SingleAsync(controlId)).Id();
            await fixture.Gateway.WaitForStatusAsync(id, "processed");
            ids.Add(id);
        }
        var other = (await fixture.Gateway.SingleAsync("3975")).Id();
        var before = new Dictionary<long, int>();
        foreach (var id in ids.Append(other))
            before[id] = (await fixture.Gateway.GetAsync(id)).GetProperty("history").GetArrayLength();

        await page.GotoAsync(fixture.BaseUrl + "/console/messages?patient=123456");
        await page.Locator("[data-testid=bulk-confirm] summary").ClickAsync();
        var confirm = page.Locator("[data-testid=bulk-confirm] button");
        Assert.Equal("Replay 2 messages", (await confirm.InnerTextAsync()).Trim());
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "bulk-replay.png"), FullPage = true });
        var posted = await page.RunAndWaitForResponseAsync(() => confirm.ClickAsync(), r => r.Url.EndsWith("/console/messages/replay", StringComparison.Ordinal));
        if (posted.Status != 302)
            Assert.Fail($"the confirmation POST answered {posted.Status}: {await posted.TextAsync()}");
        await page.WaitForURLAsync(new Regex("bulk="));
        Assert.Contains("of 2 requeued", await page.Locator("[data-testid=bulk-replay]").InnerTextAsync(), StringComparison.Ordinal);

        // Each selected message went back to the queue once and was processed again (two history lines); the other one not.
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        foreach (var id in ids)
        {
            while ((await fixture.Gateway.GetAsync(id)).GetProperty("history").GetArrayLength() < before[id] + 2 && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            var after = await fixture.Gateway.WaitForStatusAsync(id, "processed");
            Assert.Equal(before[id] + 2, after.GetProperty("history").GetArrayLength());
        }
        Assert.Equal(before[other], (await fixture.Gateway.GetAsync(other)).GetProperty("history").GetArrayLength());
        Assert.Empty(problems);
    }

    [Fact]
    public async Task A_failed_message_shows_its_reason_and_the_failing_field_highlighted()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        await page.GotoAsync(fixture.BaseUrl + "/console/messages?controlId=CONS-NOPID");
        await ConsoleChromium.FollowLinkAsync(page, page.GetByRole(AriaRole.Link, new() { Name = "CONS-NOPID" }), new Regex($"/console/messages/{fixture.FailedId}$"));

        Assert.Contains("no PID segment", await page.Locator("[data-testid=error]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("MSH-9", await page.Locator("[data-testid=failing-position]").InnerTextAsync(), StringComparison.Ordinal);
        var failing = page.Locator("tr.failing");
        Assert.Equal(1, await failing.CountAsync());
        Assert.Equal("MSH-9", await failing.GetAttributeAsync("data-field"));
        Assert.Contains("Message Type", await failing.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("failed", await page.Locator("[data-testid=history]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("MSA|AA", await page.Locator("[data-testid=ack]").InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "message-failed.png"), FullPage = true });
        await AssertAccessibleAsync(page, "detail");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Escapes_are_shown_as_sent_and_the_explanation_names_the_rule()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        var id = (await fixture.Gateway.SingleAsync("CONS-OK-2")).Id();
        await page.GotoAsync(fixture.BaseUrl + $"/console/messages/{id}");

        Assert.Contains("O\\T\\BRIEN", await page.Locator("tr[data-field='PID-5'] td.value").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Patient Name", await page.Locator("tr[data-field='PID-5']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("rule", await page.Locator("[data-testid=explanation]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task The_detail_lists_what_the_message_produced_and_its_links_open_that_patients_messages()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        var admission = (await fixture.Gateway.SingleAsync("3975")).Id();
        await fixture.Gateway.WaitForStatusAsync(admission, "processed");
        await page.GotoAsync(fixture.BaseUrl + $"/console/messages/{admission}");

        var produced = page.Locator("[data-testid=produced] [data-produced=patient]");
        Assert.Equal(1, await produced.CountAsync());
        Assert.Matches(@"/fhir/Patient/\d+", await produced.InnerTextAsync());
        await ConsoleChromium.FollowLinkAsync(page, produced.GetByRole(AriaRole.Link, new() { Name = "INS 279035121518989" }), new Regex("/console/messages\\?patient="));
        Assert.Equal("1.2.250.1.213.1.4.10|279035121518989", await page.Locator("form[role=search] input[name=patient]").InputValueAsync());
        var rows = page.Locator("[data-testid=messages] tbody tr");
        Assert.Equal(1, await rows.CountAsync());
        Assert.Contains("3975", await rows.First.InnerTextAsync(), StringComparison.Ordinal);

        // A message that failed fed no dossier, and says so.
        await page.GotoAsync(fixture.BaseUrl + $"/console/messages/{fixture.FailedId}");
        Assert.Equal(1, await page.Locator("[data-testid=produced-none]").CountAsync());
        Assert.Equal(0, await page.Locator("[data-testid=produced]").CountAsync());
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Replay_from_the_detail_page_requeues_the_message_once()
    {
        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        var id = (await fixture.Gateway.SingleAsync("CONS-REPLAY")).Id();
        var before = (await fixture.Gateway.GetAsync(id)).GetProperty("history").GetArrayLength();
        await page.GotoAsync(fixture.BaseUrl + $"/console/messages/{id}");

        await page.Locator("[data-testid=replay]").ClickAsync();
        await page.WaitForURLAsync(new Regex("replay="));

        Assert.Contains("Replay queued", await page.Locator("[data-testid=replay-result]").InnerTextAsync(), StringComparison.Ordinal);
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while ((await fixture.Gateway.GetAsync(id)).GetProperty("history").GetArrayLength() < before + 2 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        var after = await fixture.Gateway.WaitForStatusAsync(id, "failed");
        Assert.Equal(before + 2, after.GetProperty("history").GetArrayLength()); // accepted (replay) + failed again
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Language_follows_Accept_Language_and_the_switch()
    {
        var (french, _) = await OpenAsync("fr-FR");
        await french.GotoAsync(fixture.BaseUrl + "/console/login");
        Assert.Equal("fr", await french.Locator("html").GetAttributeAsync("lang"));
        Assert.Equal("Connexion", await french.Locator("h1").InnerTextAsync());

        var (page, problems) = await OpenAsync();
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        await page.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.Equal("Dashboard", await page.Locator("h1").InnerTextAsync());
        await page.Locator("[data-testid=language]").ClickAsync();
        await page.WaitForSelectorAsync("html[lang=fr]", new() { State = WaitForSelectorState.Attached });

        Assert.Equal("Tableau de bord", await page.Locator("h1").InnerTextAsync());
        await page.GotoAsync(fixture.BaseUrl + "/console/messages");
        Assert.Contains("Identifiant de contrôle", await page.Locator("[data-testid=messages] thead").InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "messages-fr.png"), FullPage = true });
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Every_page_carries_the_csp_and_passes_axe_without_serious_violations()
    {
        var (page, problems) = await OpenAsync();
        var login = await page.GotoAsync(fixture.BaseUrl + "/console/login");
        AssertHeaders(login!);
        await AssertAccessibleAsync(page, "login");
        await SignInAsync(page, TestGateway.Token(DmpClaims.Operator));
        foreach (var (path, name) in new[]
        {
            ("/console/", "dashboard"),
            ("/console/messages", "messages"),
            ($"/console/messages/{fixture.ProcessedId}", "detail"),
            ($"/console/messages/{fixture.FailedId}", "detail"),
        })
        {
            var response = await page.GotoAsync(fixture.BaseUrl + path);
            Assert.Equal(200, response!.Status);
            AssertHeaders(response);
            await AssertAccessibleAsync(page, name);
        }
        await page.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.Equal(1, await page.Locator("svg.chart").CountAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, "dashboard.png"), FullPage = true });
        Assert.Empty(problems);
    }

    private static void AssertHeaders(IResponse response)
    {
        Assert.Equal(ConsoleHosting.ContentSecurityPolicy, response.Headers["content-security-policy"]);
        Assert.Equal("nosniff", response.Headers["x-content-type-options"]);
    }

    private static Task AssertAccessibleAsync(IPage page, string name) => ConsoleChromium.AssertAccessibleAsync(page, name);

    private Task<(IPage Page, List<string> Problems)> OpenAsync(string locale = "en-GB") => ConsoleChromium.OpenAsync(fixture.Browser, locale);

    private async Task SignInAsync(IPage page, string token)
    {
        await page.GotoAsync(fixture.BaseUrl + "/console/login");
        await page.Locator("input[name=token]").FillAsync(token);
        await page.Locator("input[name=token]").PressAsync("Enter");
        // Signed in on whichever page the session opens (the dashboard, or the role page): the sign-out form shows.
        await page.WaitForSelectorAsync("form[action='/console/signout']", new() { State = WaitForSelectorState.Attached });
    }
}
