using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.OperatorConsole;
using Dmp.Ingest.Worker.Tests.Interop;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// A real OpenID Connect provider (npm oidc-provider, tests/oidc/provider.js) and a gateway whose console signs in
/// through it, with Debian's chromium driven by Playwright. The provider's issuer is http://localhost:PORT and the
/// gateway is http://127.0.0.1:PORT: two sites, as in production, so the browser applies its cross-site cookie rules
/// to the callback. Browser contexts from <see cref="NewPageAsync"/> reach loopback only (the provider's pages import
/// a web font: that request is aborted, never sent).
/// </summary>
public sealed class OidcConsoleFixture : IAsyncLifetime
{
    public const string ClientId = "dmp-console";
    public const string ProviderName = "Test provider";
    public const string Password = "any password";

    /// <summary>The patient of the French admission sample (tests/…/TestData): a dossier the lead's done-when test can feed.</summary>
    public const string PatientIns = "279035121518989";
    public const string ProfessionalRpps = "10000000001";

    /// <summary>
    /// The provider's accounts: login name (= sub) → the claims it gives through the `dmp` scope. Add one here for a new
    /// test; the provider reads the list once, at the fixture's start.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, object> Accounts = new Dictionary<string, object>
    {
        ["op-oidc"] = new { role = "operator" },
        ["pat-oidc"] = new { role = "patient", ins = PatientIns },
        ["pro-oidc"] = new { role = "professional", rpps = ProfessionalRpps, org = "1234" },
        ["admin-oidc"] = new { role = "admin" },
        ["short-ins-oidc"] = new { role = "patient", ins = PatientIns[..14] },
        ["two-roles-oidc"] = new { role = new[] { "patient", "operator" }, ins = PatientIns },
        ["no-rpps-oidc"] = new { role = "professional" },
    };

    private ConsoleChromium? _chromium;
    private TestGateway? _gateway;
    private PeerProcess? _provider;
    private string? _accountsFile;

    internal TestGateway Gateway => _gateway!;
    public IBrowser Browser => _chromium!.Browser;
    public string BaseUrl => $"http://{Gateway.Http}";
    /// <summary>The provider's issuer, http://localhost:PORT (also `Dmp:Auth:Authority`).</summary>
    public string Issuer { get; private set; } = null!;
    public string ProviderStderr => _provider?.Stderr ?? "";
    /// <summary>What the provider printed: `port`, `ready`, then one `authorize {json}` line per accepted authorization request.</summary>
    public IReadOnlyList<string> ProviderLines => _provider?.StdoutLines ?? [];

    public async Task InitializeAsync()
    {
        ConsoleChromium.Require();
        var folder = OidcFolder();
        var node = FindOnPath("node") ?? throw new InvalidOperationException("unreachable");
        if (!File.Exists(Path.Combine(folder, "node_modules", "oidc-provider", "package.json")))
            Assert.Fail($"oidc-provider is not installed in {folder}: run ./test.sh (scripts/prerequisites.sh runs npm ci there), or (cd tests/oidc && npm ci)");

        _accountsFile = Path.Combine(Path.GetTempPath(), $"dmp-oidc-accounts-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(_accountsFile, JsonSerializer.Serialize(Accounts.Select(a =>
        {
            var claims = JsonSerializer.SerializeToNode(a.Value)!.AsObject();
            claims["sub"] = a.Key;
            return claims;
        })));

        // The provider first (its port is the gateway's authority), then the gateway, then the provider learns the
        // gateway's redirect URIs on stdin: no port is guessed, none is reserved and released.
        _provider = PeerProcess.Start(node, [Path.Combine(folder, "provider.js"), "--accounts", _accountsFile, "--host", "localhost", "--port", "0", "--client-id", ClientId], folder);
        var portLine = await _provider.WaitForLineAsync(l => l.StartsWith("port ", StringComparison.Ordinal), TestGateway.Patience)
            ?? throw new InvalidOperationException("the OIDC provider did not start: " + _provider.Stderr);
        Issuer = "http://localhost:" + portLine["port ".Length..];

        _gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Auth:Authority"] = Issuer,
            // http metadata on loopback only: the validator refuses false for any other authority.
            ["Dmp:Auth:RequireHttpsMetadata"] = "false",
            ["Dmp:Auth:Console:ClientId"] = ClientId,
            ["Dmp:Auth:Console:Scopes"] = "openid dmp",
            ["Dmp:Auth:Console:DisplayName"] = ProviderName,
        });
        var redirects = JsonSerializer.Serialize(new
        {
            redirectUri = BaseUrl + ConsoleOidc.CallbackPath,
            postLogoutRedirectUri = BaseUrl + ConsoleOidc.SignedOutCallbackPath,
        });
        await _provider.StandardInput.WriteAsync(Encoding.UTF8.GetBytes(redirects + "\n"));
        await _provider.StandardInput.FlushAsync();
        if (await _provider.WaitForLineAsync(l => l.StartsWith("ready ", StringComparison.Ordinal), TestGateway.Patience) is null)
            throw new InvalidOperationException("the OIDC provider did not become ready: " + _provider.Stderr);

        _chromium = await ConsoleChromium.LaunchAsync();
    }

    /// <summary>A page in a new browser context (its own cookies) that reaches loopback only.</summary>
    public async Task<IPage> NewPageAsync(string locale = "en-GB")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { Locale = locale });
        await context.RouteAsync("**/*", route =>
            new Uri(route.Request.Url).Host is "127.0.0.1" or "localhost" ? route.ContinueAsync() : route.AbortAsync());
        return await context.NewPageAsync();
    }

    /// <summary>
    /// Signs <paramref name="account"/> in as a person does: the console's "Sign in with …" button, the provider's login
    /// form and consent page, back to the console; returns once the console shows the signed-in layout (its sign-out
    /// form) on whichever page the role lands.
    /// </summary>
    public async Task SignInWithOidcAsync(IPage page, string account, string returnUrl = "/console/")
    {
        ArgumentNullException.ThrowIfNull(page);
        await GoThroughProviderAsync(page, account, returnUrl);
        await page.WaitForSelectorAsync("form[action='/console/signout']", new() { State = WaitForSelectorState.Attached, Timeout = 30_000 });
    }

    /// <summary>The same steps up to the provider's answer, without waiting for a session (a refused identity gets none).</summary>
    public async Task GoThroughProviderAsync(IPage page, string account, string returnUrl = "/console/")
    {
        ArgumentNullException.ThrowIfNull(page);
        await page.GotoAsync(BaseUrl + "/console/login?returnUrl=" + Uri.EscapeDataString(returnUrl));
        await page.Locator("[data-testid=oidc-signin]").ClickAsync();
        // The provider's own pages (/interaction/…): its login form (any password), then its consent page unless
        // this browser gave it already; then the callback (the page that moves on), and the console.
        var back = new Regex("^" + Regex.Escape(BaseUrl) + "/console/(?!login)");
        for (var step = 0; ; step++)
        {
            await page.WaitForURLAsync(u => back.IsMatch(u) || u.Contains("/interaction/", StringComparison.Ordinal), new() { Timeout = 30_000 });
            if (back.IsMatch(page.Url))
                return;
            if (step == 5)
                Assert.Fail($"still on the provider's pages after 5 steps: {page.Url}");
            var before = page.Url;
            if (await page.Locator("input[name=login]").CountAsync() > 0)
            {
                await page.Locator("input[name=login]").FillAsync(account);
                await page.Locator("input[name=password]").FillAsync(Password);
                await page.Locator("button[type=submit]").ClickAsync();
            }
            else
            {
                await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
            }
            try
            {
                await page.WaitForURLAsync(u => u != before, new() { Timeout = 15_000, WaitUntil = WaitUntilState.Commit });
            }
            catch (TimeoutException)
            {
                // The click did not navigate (it met the page while it was still settling, once on a loaded CI machine):
                // look at the page again and act on what it shows; the step count still bounds the walk.
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
            await _chromium.DisposeAsync();
        if (_gateway is not null)
            await _gateway.DisposeAsync();
        if (_provider is not null)
            await _provider.DisposeAsync();
        if (_accountsFile is not null)
            File.Delete(_accountsFile);
    }

    /// <summary>tests/oidc in the repository, found upwards from the test binaries.</summary>
    private static string OidcFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "oidc");
            if (File.Exists(Path.Combine(candidate, "provider.js")))
                return candidate;
        }
        Assert.Fail("tests/oidc/provider.js not found above " + AppContext.BaseDirectory);
        return null!;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, name)))
                return Path.Combine(dir, name);
        }
        Assert.Fail($"{name} is not installed: run ./test.sh, which installs it (apt-get install -y nodejs npm, then npm ci in tests/oidc)");
        return null;
    }
}
