using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.OperatorConsole;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// The console's OIDC sign-in in Chromium, through a real provider's login and consent pages: roles, PKCE, the session
/// cookie, refused claims, a forged answer, sign-out at the provider.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class OidcSignInTests(OidcConsoleFixture fixture) : IClassFixture<OidcConsoleFixture>
{
    [Fact]
    public async Task Operator_signs_in_through_the_provider_with_pkce_and_lands_where_they_were_going()
    {
        var page = await fixture.NewPageAsync();
        var linesBefore = fixture.ProviderLines.Count;
        var authorize = new List<Uri>();
        var callbacks = new List<IRequest>();
        page.Request += (_, request) =>
        {
            if (request.Url.StartsWith(fixture.Issuer + "/auth?", StringComparison.Ordinal))
                authorize.Add(new Uri(request.Url));
            if (request.Url.StartsWith(fixture.BaseUrl + ConsoleOidc.CallbackPath + "?", StringComparison.Ordinal))
                callbacks.Add(request);
        };

        var login = await page.GotoAsync(fixture.BaseUrl + "/console/messages?status=failed");
        Assert.Contains("/console/login", page.Url, StringComparison.Ordinal);
        Assert.Equal(200, login!.Status);
        // With an authority the provider is the way in: no token form.
        Assert.Equal(0, await page.Locator("input[name=token]").CountAsync());
        Assert.Equal("Sign in with " + OidcConsoleFixture.ProviderName, (await page.Locator("[data-testid=oidc-signin]").InnerTextAsync()).Trim());
        await AssertAccessibleAsync(page, "login-oidc");

        await fixture.SignInWithOidcAsync(page, "op-oidc", "/console/messages?status=failed");

        Assert.EndsWith("/console/messages?status=failed", page.Url, StringComparison.Ordinal);
        Assert.Equal("Messages", await page.Locator("h1").InnerTextAsync());
        Assert.Equal("failed", await page.Locator("select[name=status]").InputValueAsync());
        Assert.Contains("op-oidc", await page.Locator("header").InnerTextAsync(), StringComparison.Ordinal);
        await page.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.Equal("Dashboard", await page.Locator("h1").InnerTextAsync());

        // The authorization request was pushed (PAR): the browser carried only the client id and a request_uri, never
        // the code challenge or the redirect URI; the provider read an S256 challenge, code flow, answer by query.
        var url = Assert.Single(authorize);
        Assert.Equal(["client_id", "request_uri"], Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(url.Query).Keys.Order(StringComparer.Ordinal));
        var accepted = Assert.Single(fixture.ProviderLines.Skip(linesBefore), l => l.StartsWith("authorize ", StringComparison.Ordinal));
        var request = System.Text.Json.JsonDocument.Parse(accepted["authorize ".Length..]).RootElement;
        Assert.Equal(OidcConsoleFixture.ClientId, request.GetProperty("client_id").GetString());
        Assert.Equal("S256", request.GetProperty("code_challenge_method").GetString());
        Assert.Equal(43, request.GetProperty("code_challenge_length").GetInt32());
        Assert.Equal("code", request.GetProperty("response_type").GetString());
        // No response_mode: for the code flow the default is query, which the client then omits.
        Assert.False(request.TryGetProperty("response_mode", out _), accepted);
        var callback = Assert.Single(callbacks);
        Assert.Equal("GET", callback.Method);
        Assert.Contains("code=", callback.Url, StringComparison.Ordinal);
        Assert.Contains("state=", callback.Url, StringComparison.Ordinal);
        Assert.True(request.GetProperty("nonce").GetBoolean());
        Assert.True(request.GetProperty("state").GetBoolean());
        Assert.True(request.GetProperty("pushed").GetBoolean());

        var cookies = await page.Context.CookiesAsync([fixture.BaseUrl + "/console/"]);
        var session = Assert.Single(cookies, c => c.Name == ConsoleHosting.CookieName);
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.Equal("/console", session.Path);
        Assert.Equal(-1, session.Expires); // a browser-session cookie: the ticket inside carries the expiry
        // The correlation and nonce cookies were single-use: gone after the callback.
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name.StartsWith(ConsoleOidc.CookiePrefix, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("pat-oidc", "patient")]
    [InlineData("pro-oidc", "professional")]
    public async Task Patient_and_professional_are_signed_in_and_see_no_dashboard(string account, string role)
    {
        var page = await fixture.NewPageAsync();

        await fixture.SignInWithOidcAsync(page, account);

        // Signed in: the layout names them and offers the sign-out, on whatever page their role lands.
        Assert.Contains(account, await page.Locator("header").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await page.Locator("form[action='/console/signout'] button").CountAsync());
        await page.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.Equal(0, await page.Locator("[data-testid=waiting]").CountAsync());
        Assert.NotEqual("Dashboard", await page.Locator("h1").InnerTextAsync());
        var forbidden = await page.GotoAsync(fixture.BaseUrl + "/console/messages");
        Assert.Equal(403, forbidden!.Status);
        Assert.Contains(role, await page.Locator("[data-testid=forbidden]").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin-oidc")]      // a role outside patient, professional, operator
    [InlineData("short-ins-oidc")]  // an INS of 14 characters
    [InlineData("two-roles-oidc")]  // two roles
    [InlineData("no-rpps-oidc")]    // a professional without an RPPS
    public async Task An_identity_the_api_would_refuse_lands_on_the_clear_page_without_a_session(string account)
    {
        var page = await fixture.NewPageAsync();
        var refusal = page.WaitForResponseAsync(r => r.Url.Contains(ConsoleOidc.RefusedPath, StringComparison.Ordinal));

        await fixture.GoThroughProviderAsync(page, account);

        Assert.Equal(403, (await refusal).Status);
        var text = page.Locator("[data-testid=oidc-refused]");
        Assert.Equal("claims", await text.GetAttributeAsync("data-kind"));
        Assert.Contains("does not meet the gateway's rules", await text.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("form[action='/console/signout']").CountAsync());
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == ConsoleHosting.CookieName);
        await AssertAccessibleAsync(page, "refused");

        await page.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.Contains("/console/login", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_out_ends_the_console_session_and_the_providers()
    {
        var page = await fixture.NewPageAsync();
        await fixture.SignInWithOidcAsync(page, "op-oidc");

        await page.Locator("form[action='/console/signout'] button").ClickAsync();
        // RP-initiated logout: the provider asks for confirmation on its own page, then sends the browser back.
        await page.WaitForURLAsync(u => u.StartsWith(fixture.Issuer + "/session/end", StringComparison.Ordinal), new() { Timeout = 30_000 });
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == ConsoleHosting.CookieName);
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, sign me out" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/console/login$"), new() { Timeout = 30_000 });

        Assert.Equal(1, await page.Locator("[data-testid=oidc-signin]").CountAsync());
        await page.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.Contains("/console/login", page.Url, StringComparison.Ordinal);
        // The provider's session ended too: signing in again asks for the login form again.
        await page.Locator("[data-testid=oidc-signin]").ClickAsync();
        await page.WaitForURLAsync(u => u.Contains("/interaction/", StringComparison.Ordinal), new() { Timeout = 30_000 });
        Assert.Equal(1, await page.Locator("input[name=login]").CountAsync());
    }

    [Fact]
    public async Task A_tampered_state_or_a_replayed_answer_is_refused_with_a_clear_page_never_a_500()
    {
        var page = await fixture.NewPageAsync();
        // The provider's real answer is held back on its way to the gateway, the browser keeping its correlation cookie.
        // A route sees only the first request of a redirect chain: the consent form's POST is let through to the
        // provider but its redirect is not followed; the test opens it, and holds the redirect to the callback in turn.
        string? genuine = null;
        string? resume = null;
        await page.Context.RouteAsync(u => u.StartsWith(fixture.Issuer + "/", StringComparison.Ordinal), async route =>
        {
            var consent = route.Request.Method == "POST" && (route.Request.PostData ?? "").Contains("prompt=consent", StringComparison.Ordinal);
            var resuming = resume is not null && route.Request.Url == resume;
            if (!consent && !resuming)
            {
                await route.ContinueAsync();
                return;
            }
            var answer = await route.FetchAsync(new() { MaxRedirects = 0 });
            var location = new Uri(new Uri(route.Request.Url), answer.Headers["location"]).ToString();
            if (consent)
                resume = location;
            else
                genuine = location;
            await route.FulfillAsync(new() { Status = 200, ContentType = "text/plain", Body = "held by the test" });
        });
        await page.GotoAsync(fixture.BaseUrl + "/console/login");
        await page.Locator("[data-testid=oidc-signin]").ClickAsync();
        await page.Locator("input[name=login]").FillAsync("op-oidc");
        await page.Locator("input[name=password]").FillAsync(OidcConsoleFixture.Password);
        await page.Locator("button[type=submit]").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.body && document.body.innerText.includes('held by the test')");
        Assert.NotNull(resume);
        await page.GotoAsync(resume!);
        Assert.NotNull(genuine);
        Assert.StartsWith(fixture.BaseUrl + ConsoleOidc.CallbackPath + "?", genuine, StringComparison.Ordinal);
        Assert.Contains("code=", genuine, StringComparison.Ordinal);
        await page.Context.UnrouteAllAsync();
        await page.Context.RouteAsync("**/*", route =>
            new Uri(route.Request.Url).Host is "127.0.0.1" or "localhost" ? route.ContinueAsync() : route.AbortAsync());

        // … then sent with its state changed: refused, a clear page, no session.
        var tampered = Regex.Replace(genuine!, "state=([^&]*)", m => "state=" + m.Groups[1].Value[..^4] + (m.Groups[1].Value.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA"));
        Assert.NotEqual(genuine, tampered);
        var answer = await page.GotoAsync(tampered);
        Assert.Equal(400, answer!.Status);
        Assert.EndsWith(ConsoleOidc.RefusedPath + "?kind=failed", page.Url, StringComparison.Ordinal);
        Assert.Equal("failed", await page.Locator("[data-testid=oidc-refused]").GetAttributeAsync("data-kind"));
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == ConsoleHosting.CookieName);

        // The untouched answer still signs in once; sent a second time (its correlation cookie spent, its code used), refused.
        await page.GotoAsync(genuine!);
        await page.WaitForSelectorAsync("form[action='/console/signout']", new() { State = WaitForSelectorState.Attached });
        var replayed = await page.GotoAsync(genuine!);
        Assert.Equal(400, replayed!.Status);
        Assert.EndsWith(ConsoleOidc.RefusedPath + "?kind=failed", page.Url, StringComparison.Ordinal);

        // An answer out of nowhere, and the provider's own refusal: the same clear page.
        foreach (var forged in new[] { "?code=forged&state=forged", "?error=access_denied&state=forged" })
        {
            var refused = await page.GotoAsync(fixture.BaseUrl + ConsoleOidc.CallbackPath + forged);
            Assert.Equal(400, refused!.Status);
            Assert.EndsWith(ConsoleOidc.RefusedPath + "?kind=failed", page.Url, StringComparison.Ordinal);
        }
    }

    private static Task AssertAccessibleAsync(IPage page, string name) => ConsoleChromium.AssertAccessibleAsync(page, name);
}
