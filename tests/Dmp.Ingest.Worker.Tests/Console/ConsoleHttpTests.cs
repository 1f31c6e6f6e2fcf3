using System.Net;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.OperatorConsole;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>The console over real HTTP without a browser: the sign-in form, the session cookie, roles, headers, the audited raw view.</summary>
public sealed partial class ConsoleHttpTests
{
    [Fact]
    public async Task Sign_in_trades_an_operator_token_for_a_strict_httponly_cookie_that_opens_the_pages()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);

        using var before = await browser.GetAsync("/console/messages");
        Assert.Equal(HttpStatusCode.Redirect, before.StatusCode);
        Assert.Equal("/console/login", before.Headers.Location!.AbsolutePath);

        var cookie = await ConsoleSession.SignInAsync(browser, TestGateway.Token(DmpClaims.Operator));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase); // plain HTTP here; Secure under TLS

        using var page = await browser.GetAsync("/console/messages");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(ConsoleHosting.ContentSecurityPolicy, page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.DoesNotContain("<script", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Sign_out_ends_the_session()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);
        await ConsoleSession.SignInAsync(browser, TestGateway.Token(DmpClaims.Operator));
        var dashboard = await browser.GetStringAsync("/console/");
        var antiforgery = WebUtility.HtmlDecode(ConsoleSession.Antiforgery(dashboard));

        using var signOut = await browser.PostAsync("/console/signout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__antiforgery"] = antiforgery }));
        using var after = await browser.GetAsync("/console/");

        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal("/console/login", signOut.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Equal("/console/login", after.Headers.Location!.AbsolutePath);
    }

    [Fact]
    public async Task A_token_the_api_refuses_opens_no_session()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);
        var foreign = TokenIssuer.Issue("another-signing-key-of-enough-length-0123456789"u8.ToArray(), "dmp-ingest", DmpClaims.Operator, null, null, null, TimeSpan.FromHours(1));

        using var wrongKey = await ConsoleSession.PostSignInAsync(browser, foreign);
        using var garbage = await ConsoleSession.PostSignInAsync(browser, "not-a-token");

        Assert.Equal("/console/login?error=invalid", wrongKey.Headers.Location!.OriginalString);
        Assert.Equal("/console/login?error=invalid", garbage.Headers.Location!.OriginalString);
        Assert.False(wrongKey.Headers.Contains("Set-Cookie") && wrongKey.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith(ConsoleHosting.CookieName + "=", StringComparison.Ordinal)));
        using var page = await browser.GetAsync("/console/");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
    }

    [Fact]
    public async Task A_form_without_its_antiforgery_token_is_refused()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);

        using var response = await browser.PostAsync("/console/session", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = TestGateway.Token(DmpClaims.Operator) }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_professional_gets_the_not_for_your_role_page_with_403()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway, follow: true);
        await ConsoleSession.SignInAsync(browser, ProfessionalToken());

        using var page = await browser.GetAsync("/console/messages");

        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        Assert.Contains("not for your role", (await page.Content.ReadAsStringAsync()).ToLowerInvariant(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Browsers_opening_the_root_land_on_the_console_and_api_clients_keep_the_401()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var html = new HttpRequestMessage(HttpMethod.Get, "/");
        html.Headers.Accept.ParseAdd("text/html");

        using var browser = await gateway.Anonymous.SendAsync(html);
        using var api = await gateway.Anonymous.GetAsync("/");
        using var messages = await gateway.Anonymous.GetAsync("/api/messages");

        // `/` → `/console/` → (no session yet) the sign-in page.
        Assert.Equal("/console/login", browser.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Equal(HttpStatusCode.OK, browser.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, messages.StatusCode);
    }

    [Fact]
    public async Task Showing_a_raw_message_is_audited_like_the_raw_api()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("CONS-AUDIT"))).Code);
        var id = (await gateway.SingleAsync("CONS-AUDIT")).Id();
        await gateway.WaitForStatusAsync(id, "processed");
        var before = await AuditEventsAsync(gateway);
        using var browser = ConsoleSession.Client(gateway);
        await ConsoleSession.SignInAsync(browser, TestGateway.Token(DmpClaims.Operator));

        using var page = await browser.GetAsync($"/console/messages/{id}");
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("data-field=\"MSH-10\"", html, StringComparison.Ordinal);
        Assert.Contains("Message Control ID", html, StringComparison.Ordinal);
        Assert.True(await AuditEventsAsync(gateway) > before, "the raw view left no audit event");
    }

    [Fact]
    public async Task Dashboard_shows_each_configured_sender_and_highlights_the_silent_one()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Senders:0:Name"] = "lab",
            ["Dmp:Mllp:Senders:0:Addresses:0"] = "127.0.0.1",
            ["Dmp:Mllp:Senders:0:Facilities:0"] = "FAC",
            ["Dmp:Mllp:Senders:1:Name"] = "quiet-clinic",
            ["Dmp:Mllp:Senders:1:Addresses:0"] = "10.9.9.9",
            ["Dmp:Mllp:Senders:1:Facilities:0"] = "QUIET",
        });
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("CONS-LAB"))).Code);
        using var browser = ConsoleSession.Client(gateway);
        await ConsoleSession.SignInAsync(browser, TestGateway.Token(DmpClaims.Operator));

        var html = await browser.GetStringAsync("/console/");

        var rows = SenderRow().Matches(html).ToDictionary(m => m.Groups["name"].Value, m => m.Value);
        Assert.Equal(["lab", "quiet-clinic"], rows.Keys.Order());
        Assert.DoesNotContain("class=\"silent\"", rows["lab"], StringComparison.Ordinal);
        Assert.Contains("<td>1</td>", rows["lab"], StringComparison.Ordinal);
        Assert.Contains("class=\"silent\"", rows["quiet-clinic"], StringComparison.Ordinal);
        Assert.Contains("never", rows["quiet-clinic"], StringComparison.Ordinal);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        // The messages list names the configured sender rather than the MSH pair.
        Assert.Contains("<td>lab</td>", await browser.GetStringAsync("/console/messages"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_latency_counts_this_gateways_acks_and_stays_within_what_the_sender_waited()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var other = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);
        await ConsoleSession.SignInAsync(browser, TestGateway.Token(DmpClaims.Operator));
        Assert.Contains("data-count=\"0\"", await browser.GetStringAsync("/console/"), StringComparison.Ordinal);

        // Real MLLP traffic: 40 ACKs from this gateway, each round trip timed by the sender; 5 from another gateway in the process.
        var slowest = 0.0;
        await using (var client = await gateway.ConnectAsync())
        {
            for (var i = 0; i < 40; i++)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"LAT-{i}"))).Code);
                slowest = Math.Max(slowest, watch.Elapsed.TotalMilliseconds);
            }
        }
        await using (var client = await other.ConnectAsync())
            for (var i = 0; i < 5; i++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"LAT-OTHER-{i}"))).Code);

        var tile = LatencyTile().Match(await browser.GetStringAsync("/console/"));
        Assert.True(tile.Success, "no latency figures on the dashboard");
        Assert.Equal(40, int.Parse(tile.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture));
        var p50 = double.Parse(tile.Groups["p50"].Value, System.Globalization.CultureInfo.InvariantCulture);
        var p99 = double.Parse(tile.Groups["p99"].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(p50 <= p99, $"p50 {p50} > p99 {p99}");
        // The gateway's span (frame read → ACK written) lies inside each sender's round trip; figures are shown to 0.1 ms.
        Assert.True(p99 <= slowest + 0.05, $"p99 {p99} ms above the slowest round trip the sender saw ({slowest:0.###} ms)");
    }

    [GeneratedRegex(@"data-testid=""latency"" data-count=""(?<count>\d+)"">(?<p50>[\d.]+) / (?<p99>[\d.]+) ms<")]
    private static partial Regex LatencyTile();

    [Fact]
    public async Task An_unknown_message_is_a_404_page_that_says_so()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);
        await ConsoleSession.SignInAsync(browser, TestGateway.Token(DmpClaims.Operator));

        using var page = await browser.GetAsync("/console/messages/987654");

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("No inbound message 987654", html, StringComparison.Ordinal);
        Assert.Contains("href=\"/console/messages\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_filter_that_does_not_parse_is_a_400_page_naming_it()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);
        await ConsoleSession.SignInAsync(browser, TestGateway.Token(DmpClaims.Operator));

        using var status = await browser.GetAsync("/console/messages?status=bogus");
        using var cursor = await browser.GetAsync("/console/messages?cursor=not-one-of-ours");

        Assert.Equal(HttpStatusCode.BadRequest, status.StatusCode);
        Assert.Contains("status must be one of", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, cursor.StatusCode);
    }

    [GeneratedRegex("<tr( class=\"silent\")?>\\s*<td>(?<name>[a-z-]+).*?</tr>", RegexOptions.Singleline)]
    private static partial Regex SenderRow();

    private static string ProfessionalToken() =>
        TokenIssuer.Issue(System.Text.Encoding.UTF8.GetBytes(TestGateway.SigningKey), "dmp-ingest", DmpClaims.Professional, null, "10000000001", null, TimeSpan.FromHours(1));

    private static async Task<long> AuditEventsAsync(TestGateway gateway)
    {
        using var response = await gateway.Api.GetAsync("/api/audit/verify");
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return body.GetProperty("events").GetInt64();
    }
}

/// <summary>The console session's lifetime: it waits for a token to expire, so it is in the slow tier.</summary>
[Trait("Tier", "Slow")]
public sealed class ConsoleSessionExpiryTests
{
    [Fact]
    public async Task The_session_ends_when_the_token_would_have_expired()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var browser = ConsoleSession.Client(gateway);
        // Long enough for a sign-in and a page on a loaded machine (a 3-second token once expired before its first page).
        var lifetime = TimeSpan.FromSeconds(12);
        var issued = System.Diagnostics.Stopwatch.StartNew();
        var shortLived = TokenIssuer.Issue(System.Text.Encoding.UTF8.GetBytes(TestGateway.SigningKey), "dmp-ingest", DmpClaims.Operator, null, null, null, lifetime);
        await ConsoleSession.SignInAsync(browser, shortLived);
        using (var open = await browser.GetAsync("/console/messages"))
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);

        // JWT times are whole seconds: wait past the expiry, whatever second the token was issued in.
        var left = lifetime + TimeSpan.FromSeconds(1.5) - issued.Elapsed;
        if (left > TimeSpan.Zero)
            await Task.Delay(left);
        using var expired = await browser.GetAsync("/console/messages");

        Assert.Equal(HttpStatusCode.Redirect, expired.StatusCode);
        Assert.Equal("/console/login", expired.Headers.Location!.AbsolutePath);
    }
}

/// <summary>A cookie-keeping HTTP client that signs in through the console's form, antiforgery token included.</summary>
internal static partial class ConsoleSession
{
    public static HttpClient Client(TestGateway gateway, bool follow = false) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = follow, UseCookies = true })
        {
            BaseAddress = new Uri($"http://{gateway.Http}"),
            Timeout = TestGateway.Patience,
        };

    public static async Task<HttpResponseMessage> PostSignInAsync(HttpClient client, string token)
    {
        var login = await client.GetStringAsync("/console/login");
        var antiforgery = Antiforgery(login);
        var request = new HttpRequestMessage(HttpMethod.Post, "/console/session")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["__antiforgery"] = WebUtility.HtmlDecode(antiforgery), ["token"] = token }),
        };
        return await client.SendAsync(request);
    }

    /// <summary>Signs in and returns the session's Set-Cookie header.</summary>
    public static async Task<string> SignInAsync(HttpClient client, string token)
    {
        using var response = await PostSignInAsync(client, token);
        if (response.StatusCode == HttpStatusCode.Redirect)
        {
            Assert.Equal("/console/", response.Headers.Location!.OriginalString);
            return Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(ConsoleHosting.CookieName + "=", StringComparison.Ordinal));
        }
        // A client that follows redirects lands on the page the session opens.
        Assert.StartsWith("/console", response.RequestMessage!.RequestUri!.AbsolutePath, StringComparison.Ordinal);
        return "";
    }

    public static string Antiforgery(string html) => AntiforgeryField().Match(html).Groups[1].Value;

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
