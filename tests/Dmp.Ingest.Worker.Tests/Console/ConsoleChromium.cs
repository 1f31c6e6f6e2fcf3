using Deque.AxeCore.Playwright;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// Debian's chromium driven by Playwright for every console browser test (never Playwright's own browser download):
/// one way to launch it, to open a page that records its console errors, and to check a page with axe-core.
/// A machine without chromium fails these tests with the install step.
/// </summary>
public sealed class ConsoleChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private static readonly string[] Flags =
    [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    ];

    private readonly IPlaywright _playwright;

    private ConsoleChromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    /// <summary>Where the tests save their screenshots (the best are copied to docs/screenshots by hand).</summary>
    public static string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "console-screenshots");

    /// <summary>Fails with the install step when chromium is missing; call it before starting anything else.</summary>
    public static void Require()
    {
        if (!File.Exists(Executable))
            Assert.Fail($"{Executable} is missing: the console's browser tests need Debian's chromium (apt-get install -y chromium; ./test.sh installs it through scripts/prerequisites.sh)");
        Directory.CreateDirectory(ScreenshotDir);
    }

    public static async Task<ConsoleChromium> LaunchAsync()
    {
        Require();
        var playwright = await Playwright.CreateAsync();
        try
        {
            return new ConsoleChromium(playwright, await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Executable, Headless = true, Args = Flags,
            }));
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A page in a new context (its own cookies) whose console errors and page errors are collected in Problems.</summary>
    public static async Task<(IPage Page, List<string> Problems)> OpenAsync(IBrowser browser, string locale = "en-GB")
    {
        ArgumentNullException.ThrowIfNull(browser);
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { Locale = locale });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                problems.Add($"console: {message.Text} at {message.Location}");
        };
        page.PageError += (_, error) => problems.Add("page error: " + error);
        return (page, problems);
    }

    /// <summary>The ids of the documents a dossier page lists (its documents table's rows), in the page's order.</summary>
    public static async Task<List<long>> DocumentsShownAsync(IPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        return (await page.Locator("[data-testid=documents] tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.document)"))
            .Select(v => long.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>
    /// Follows a plain link (a GET, so a second click is harmless) and waits for the page it leads to. On loaded clean-clone
    /// runs a click now and then left the page where it was, idle, until the 30 s timeout: the link is clicked again when
    /// the navigation has not even started after 10 s, at most three times, and the failure names where the page stayed.
    /// </summary>
    public static async Task FollowLinkAsync(IPage page, ILocator link, Regex leadsTo)
    {
        ArgumentNullException.ThrowIfNull(link);
        await RepeatUntilAtAsync(page, () => link.ClickAsync(), leadsTo, async () => $"three clicks on the link ({await link.GetAttributeAsync("href")})");
    }

    /// <summary>Enter in a GET form's field (so a second submit is harmless), until the page is at <paramref name="leadsTo"/>: a key can be lost as a click can.</summary>
    public static async Task SubmitWithEnterAsync(IPage page, ILocator field, Regex leadsTo)
    {
        ArgumentNullException.ThrowIfNull(field);
        await RepeatUntilAtAsync(page, () => field.PressAsync("Enter"), leadsTo, () => Task.FromResult("three Enters in the form"));
    }

    private static async Task RepeatUntilAtAsync(IPage page, Func<Task> act, Regex leadsTo, Func<Task<string>> what)
    {
        ArgumentNullException.ThrowIfNull(page);
        for (var attempt = 1; ; attempt++)
        {
            await act();
            try
            {
                await page.WaitForURLAsync(leadsTo, new() { WaitUntil = WaitUntilState.Commit, Timeout = 10_000 });
                break;
            }
            catch (TimeoutException) when (attempt < 3)
            {
            }
            catch (TimeoutException)
            {
                Assert.Fail($"{await what()} did not lead to {leadsTo}; the page stayed at {page.Url}");
            }
        }
        await page.WaitForLoadStateAsync(LoadState.Load);
    }

    /// <summary>No serious or critical axe-core violation on the page as it is.</summary>
    public static async Task AssertAccessibleAsync(IPage page, string name)
    {
        var results = await page.RunAxe();
        var serious = results.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{name}: {v.Id} ({v.Impact}): {v.Help}").ToList();
        Assert.True(serious.Count == 0, string.Join('\n', serious));
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
