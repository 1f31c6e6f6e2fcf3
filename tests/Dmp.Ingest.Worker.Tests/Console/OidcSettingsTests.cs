using System.Net;
using System.Security.Claims;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.OperatorConsole;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// The console's OIDC settings without a provider: the keys' one-line errors, the claim mapping, and an in-process
/// gateway whose authority is out of reach (the login page, the development form refused, a clear page instead of a 500).
/// </summary>
public sealed class OidcSettingsTests
{
    // Port 9 (discard) on loopback: nothing listens, a connection is refused at once.
    private const string DeadAuthority = "http://127.0.0.1:9/realms/dmp";

    [Theory]
    [InlineData(null, "dmp-console", "openid", null, null, "Dmp:Auth:Console:ClientId is set but Dmp:Auth:Authority is not")]
    [InlineData("https://idp.example/realms/dmp", "dmp-console", "profile email", null, null, "Dmp:Auth:Console:Scopes 'profile email' lacks openid")]
    [InlineData("https://idp.example/realms/dmp", "dmp-console", "openid", "admin", null, "Dmp:Auth:Console:Role 'admin' is not a role")]
    [InlineData("https://idp.example/realms/dmp", "dmp-console", "openid", null, "8x", "Dmp:Auth:Console:RppsPrefix '8x' is not digits")]
    public void Each_wrong_console_key_is_one_line_naming_it(string? authority, string? clientId, string scopes, string? role, string? prefix, string expected)
    {
        var options = new AuthOptions { Authority = authority, Console = { ClientId = clientId, Scopes = scopes, Role = role, RppsPrefix = prefix } };

        var result = new AuthOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var line = Assert.Single(result.Failures!);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void A_claim_name_with_a_space_and_a_session_lifetime_out_of_range_are_refused()
    {
        var blank = new AuthOptions { Authority = "https://idp.example", Console = { ClientId = "c", InsClaim = "my ins" } };
        var forever = new AuthOptions { Authority = "https://idp.example", Console = { ClientId = "c", SessionLifetime = TimeSpan.FromDays(3) } };

        Assert.StartsWith("Dmp:Auth:Console:InsClaim 'my ins' is not a claim name", Assert.Single(new AuthOptionsValidator().Validate(null, blank).Failures!), StringComparison.Ordinal);
        Assert.StartsWith("Dmp:Auth:Console:SessionLifetime", Assert.Single(new AuthOptionsValidator().Validate(null, forever).Failures!), StringComparison.Ordinal);
        Assert.True(new AuthOptionsValidator().Validate(null, new AuthOptions { Authority = "https://idp.example", Console = { ClientId = "c", Scopes = "openid dmp" } }).Succeeded);
    }

    [Fact]
    public void Http_metadata_is_allowed_for_a_loopback_authority_only()
    {
        var remote = new AuthOptions { Authority = "http://idp.example/realms/dmp", RequireHttpsMetadata = false };
        var loopback = new AuthOptions { Authority = "http://localhost:8081/realms/dmp", RequireHttpsMetadata = false };

        Assert.StartsWith("Dmp:Auth:RequireHttpsMetadata is false with the authority 'http://idp.example/realms/dmp'", Assert.Single(new AuthOptionsValidator().Validate(null, remote).Failures!), StringComparison.Ordinal);
        Assert.True(new AuthOptionsValidator().Validate(null, loopback).Succeeded);
    }

    [Fact]
    public async Task Serve_with_a_console_client_but_no_authority_stops_with_exit_64_naming_the_key()
    {
        var data = Directory.CreateTempSubdirectory("dmp-oidc-settings-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Auth:Console:ClientId=dmp-console", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}");

            Assert.Equal(64, code);
            var line = Assert.Single(stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("Dmp:Auth:Console:ClientId is set but Dmp:Auth:Authority is not", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public void Claims_map_by_the_configured_names_and_keep_only_the_five_the_api_reads()
    {
        // Pro Santé Connect style: no role claim (the provider is for professionals), the RPPS inside the national id 8 + RPPS.
        var psc = new ConsoleOidcOptions { Role = DmpClaims.Professional, RppsClaim = "SubjectNameID", RppsPrefix = "8", OrgClaim = "SubjectOrganization" };
        var source = Principal(("sub", "f:550dc1c8"), ("SubjectNameID", "810000000001"), ("SubjectOrganization", "1234"), ("family_name", "MARTIN"), ("role", "operator"));

        var (principal, refusal) = ConsoleOidc.Map(source, psc);

        Assert.Null(refusal);
        Assert.Equal(
            ["sub=f:550dc1c8", "role=professional", "rpps=10000000001", "org=1234"],
            principal!.Claims.Select(c => $"{c.Type}={c.Value}"));
        Assert.Equal("f:550dc1c8", principal.Identity!.Name);
        Assert.True(principal.IsInRole(DmpClaims.Professional));
    }

    [Theory]
    [InlineData("admin", "279035121518989", "role is not one of")]
    [InlineData("patient", "27903512151898", "ins must be the 15-character INS")]
    [InlineData("patient", null, "a patient token carries the patient's ins")]
    [InlineData(null, "279035121518989", "carries no role claim")]
    public void Claims_that_break_the_apis_rule_are_refused_with_its_reason(string? role, string? ins, string reason)
    {
        var claims = new List<(string, string)> { ("sub", "someone") };
        if (role is not null)
            claims.Add(("role", role));
        if (ins is not null)
            claims.Add(("ins", ins));

        var (principal, refusal) = ConsoleOidc.Map(Principal([.. claims]), new ConsoleOidcOptions());

        Assert.Null(principal);
        Assert.Contains(reason, refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("2790351215189", refusal, StringComparison.Ordinal); // a reason never carries a value
    }

    [Fact]
    public void An_identity_without_a_subject_is_refused()
    {
        var (principal, refusal) = ConsoleOidc.Map(Principal(("role", "operator")), new ConsoleOidcOptions());

        Assert.Null(principal);
        Assert.Contains("sub", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_an_authority_the_login_page_offers_the_provider_and_a_posted_token_opens_no_session()
    {
        await using var gateway = await TestGateway.StartAsync(OidcSettings(clientId: "dmp-console"));
        using var browser = ConsoleSession.Client(gateway);

        var login = await browser.GetStringAsync("/console/login?returnUrl=%2Fconsole%2Fmessages");
        Assert.Contains("data-testid=\"oidc-signin\"", login, StringComparison.Ordinal);
        Assert.Contains("href=\"/console/oidc/signin?returnUrl=%2Fconsole%2Fmessages\"", login, StringComparison.Ordinal);
        Assert.Contains("Sign in with 127.0.0.1", login, StringComparison.Ordinal); // no DisplayName: the authority's host
        Assert.DoesNotContain("name=\"token\"", login, StringComparison.Ordinal);

        // A development-style token posted by hand (the layout's forms give an antiforgery token) is not valid here.
        using var posted = await ConsoleSession.PostSignInAsync(browser, TestGateway.Token(DmpClaims.Operator));
        Assert.Equal("/console/login?error=invalid", posted.Headers.Location!.OriginalString);
        Assert.False(posted.Headers.Contains("Set-Cookie") && posted.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith(ConsoleHosting.CookieName + "=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_provider_out_of_reach_gives_a_clear_page_not_a_500()
    {
        await using var gateway = await TestGateway.StartAsync(OidcSettings(clientId: "dmp-console"));
        using var browser = ConsoleSession.Client(gateway);

        using var start = await browser.GetAsync("/console/oidc/signin?returnUrl=%2Fconsole%2F");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        Assert.Equal(ConsoleOidc.RefusedPath + "?kind=unavailable", start.Headers.Location!.OriginalString);

        using var page = await browser.GetAsync(start.Headers.Location);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
        Assert.Contains("cannot be reached", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A callback nobody started: refused by the handler, a clear page again.
        using var forged = await browser.GetAsync(ConsoleOidc.CallbackPath + "?code=x&state=y");
        Assert.Equal(HttpStatusCode.Redirect, forged.StatusCode);
        Assert.Equal(ConsoleOidc.RefusedPath + "?kind=failed", forged.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task An_authority_without_a_console_client_says_which_key_is_missing()
    {
        await using var gateway = await TestGateway.StartAsync(OidcSettings(clientId: null));
        using var browser = ConsoleSession.Client(gateway);

        var login = await browser.GetStringAsync("/console/login");

        Assert.Contains("data-testid=\"oidc-not-configured\"", login, StringComparison.Ordinal);
        Assert.Contains("Dmp:Auth:Console:ClientId", login, StringComparison.Ordinal);
        Assert.DoesNotContain("name=\"token\"", login, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> OidcSettings(string? clientId) => new()
    {
        ["Dmp:Auth:Authority"] = DeadAuthority,
        ["Dmp:Auth:RequireHttpsMetadata"] = "false",
        ["Dmp:Auth:Console:ClientId"] = clientId,
    };

    private static ClaimsPrincipal Principal(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "oidc"));
}
