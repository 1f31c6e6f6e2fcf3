using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dmp.Ingest.Worker.Tests.Auth;

/// <summary>JWT bearer authentication through real HTTP: development keys, the token verb, an OIDC authority.</summary>
public sealed class AuthTests
{
    [Fact]
    public async Task The_token_verb_and_serve_share_the_data_folder_key()
    {
        using var data = new TempDir();
        var (code, stdout, stderr) = await CliRunner.RunAsync("token", "--role", "operator", $"--Dmp:DataDir={data.Path}");
        Assert.True(code == 0, stderr);
        var token = stdout.Trim().Split('\n')[^1];
        Assert.True(File.Exists(System.IO.Path.Combine(data.Path, DevSigningKey.FileName)));

        await using var gateway = await StartAsync(data.Path);
        using var http = gateway.Client(token);
        var response = await http.GetAsync("/api/messages");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, json.RootElement.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task The_development_key_file_is_created_once_and_kept_private()
    {
        using var data = new TempDir();
        var first = DevSigningKey.Resolve(new AuthOptions(), data.Path);
        var second = DevSigningKey.Resolve(new AuthOptions(), data.Path);

        Assert.Equal(32, first.Key.Length);
        Assert.Equal(first.Key, second.Key);
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(System.IO.Path.Combine(data.Path, DevSigningKey.FileName));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        }
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_configured_signing_key_is_used_as_its_utf8_bytes()
    {
        using var data = new TempDir();
        const string secret = "a-development-secret-of-at-least-32-chars";
        await using var gateway = await StartAsync(data.Path, ("Dmp:Auth:SigningKey", secret));
        var token = TokenIssuer.Issue(Encoding.UTF8.GetBytes(secret), "dmp-ingest", DmpClaims.Operator, null, null, null, TimeSpan.FromMinutes(5));
        var otherKey = TokenIssuer.Issue(RandomNumberGenerator.GetBytes(32), "dmp-ingest", DmpClaims.Operator, null, null, null, TimeSpan.FromMinutes(5));
        var expired = TokenIssuer.Issue(Encoding.UTF8.GetBytes(secret), "dmp-ingest", DmpClaims.Operator, null, null, null, TimeSpan.FromMinutes(5), DateTime.UtcNow.AddHours(-2));
        var otherAudience = TokenIssuer.Issue(Encoding.UTF8.GetBytes(secret), "someone-else", DmpClaims.Operator, null, null, null, TimeSpan.FromMinutes(5));

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client(token).GetAsync("/api/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client(otherKey).GetAsync("/api/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client(expired).GetAsync("/api/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client(otherAudience).GetAsync("/api/messages")).StatusCode);
    }

    [Fact]
    public async Task Without_a_token_the_api_answers_401_problem_json_and_health_stays_open()
    {
        using var data = new TempDir();
        await using var gateway = await StartAsync(data.Path);
        using var http = gateway.Client(null);

        var api = await http.GetAsync("/api/messages");
        var health = await http.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Bearer", api.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData("patient", "--ins", "279035121518989")]
    [InlineData("professional", "--rpps", "10000023084")]
    public async Task Other_roles_are_forbidden_from_the_operator_api(string role, string option, string value)
    {
        using var data = new TempDir();
        var (code, stdout, stderr) = await CliRunner.RunAsync("token", "--role", role, option, value, $"--Dmp:DataDir={data.Path}");
        Assert.True(code == 0, stderr);
        await using var gateway = await StartAsync(data.Path);

        var response = await gateway.Client(stdout.Trim()).GetAsync("/api/messages");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("--role", "patient")]
    [InlineData("--role", "patient", "--ins", "123")]
    [InlineData("--role", "professional", "--rpps", "12AB")]
    [InlineData("--role", "nobody")]
    [InlineData("--role", "operator", "--minutes", "0")]
    [InlineData("--role", "operator", "--minutes", "1441")]
    [InlineData("--role", "operator", "--minutes", "121", "--Dmp:Auth:MaxTokenLifetime=02:00:00")]
    [InlineData("--role", "patient", "--ins", "1234567890123AB")]
    [InlineData("--role", "professional", "--rpps", "810000023084")]
    public async Task The_token_verb_refuses_incomplete_claims_with_exit_64(params string[] args)
    {
        using var data = new TempDir();
        var (code, stdout, stderr) = await CliRunner.RunAsync([.. args, $"--Dmp:DataDir={data.Path}"]);

        Assert.Equal(64, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task The_token_verb_issues_up_to_the_configured_lifetime_and_the_gateway_holds_the_same_cap()
    {
        using var data = new TempDir();
        var (code, stdout, stderr) = await CliRunner.RunAsync("token", "--role", "operator", "--minutes", "2000", "--Dmp:Auth:MaxTokenLifetime=2.00:00:00", $"--Dmp:DataDir={data.Path}");
        Assert.True(code == 0, stderr);
        var token = stdout.Trim();

        await using (var longer = await StartAsync(data.Path, ("Dmp:Auth:MaxTokenLifetime", "2.00:00:00")))
            Assert.Equal(HttpStatusCode.OK, (await longer.Client(token).GetAsync("/api/messages")).StatusCode);
        await using var standard = await StartAsync(data.Path);
        using var refused = await standard.Client(token).GetAsync("/api/messages");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("Dmp:Auth:MaxTokenLifetime", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_carries_the_claims_of_its_role()
    {
        using var data = new TempDir();
        var (_, stdout, _) = await CliRunner.RunAsync("token", "--role", "professional", "--rpps", "10000023084", "--org", "1234", "--minutes", "5", $"--Dmp:DataDir={data.Path}");

        var jwt = new JsonWebToken(stdout.Trim());
        Assert.Equal("professional", jwt.GetClaim("role").Value);
        Assert.Equal("10000023084", jwt.GetClaim("rpps").Value);
        Assert.Equal("1234", jwt.GetClaim("org").Value);
        Assert.Equal(AuthOptions.DevIssuer, jwt.Issuer);
        Assert.Contains("dmp-ingest", jwt.Audiences);
        Assert.InRange(jwt.ValidTo - jwt.ValidFrom, TimeSpan.FromMinutes(4.9), TimeSpan.FromMinutes(5.1));
        Assert.Equal("HS256", jwt.Alg);
    }

    [Fact]
    public async Task An_oidc_authority_validates_rs256_tokens_from_its_published_keys()
    {
        // A real OIDC discovery endpoint and JWKS on loopback, as an identity provider publishes them.
        using var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "test-key-1" };
        var idp = WebApplication.CreateSlimBuilder();
        idp.WebHost.UseUrls("http://127.0.0.1:0");
        await using var provider = idp.Build();
        string? issuer = null;
        provider.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer!,
            ["jwks_uri"] = issuer + "/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        provider.MapGet("/jwks", () =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = key.KeyId });
            return Results.Json(new { keys = new[] { new { kty = jwk.Kty, kid = jwk.Kid, use = "sig", alg = "RS256", n = jwk.N, e = jwk.E } } });
        });
        await provider.StartAsync();
        issuer = provider.Urls.Single();

        using var data = new TempDir();
        await using var gateway = await StartAsync(data.Path, ("Dmp:Auth:Authority", issuer), ("Dmp:Auth:RequireHttpsMetadata", "false"));
        string Sign(SecurityKey signingKey, string algorithm, string iss) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = iss,
            Audience = "dmp-ingest",
            Subject = new ClaimsIdentity([new Claim("role", "operator"), new Claim("sub", "op-1")]),
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(signingKey, algorithm),
        });

        var good = Sign(key, SecurityAlgorithms.RsaSha256, issuer);
        using var otherRsa = RSA.Create(2048);
        var foreign = Sign(new RsaSecurityKey(otherRsa) { KeyId = "test-key-1" }, SecurityAlgorithms.RsaSha256, issuer);
        var wrongIssuer = Sign(key, SecurityAlgorithms.RsaSha256, "http://elsewhere.invalid");
        var devToken = TokenIssuer.Issue(RandomNumberGenerator.GetBytes(32), "dmp-ingest", DmpClaims.Operator, null, null, null, TimeSpan.FromMinutes(5));

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client(good).GetAsync("/api/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client(foreign).GetAsync("/api/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client(wrongIssuer).GetAsync("/api/messages")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client(devToken).GetAsync("/api/messages")).StatusCode);
        Assert.False(File.Exists(System.IO.Path.Combine(data.Path, DevSigningKey.FileName)), "no development key with an authority");
        await provider.StopAsync();
    }

    [Fact]
    public async Task A_short_signing_key_stops_the_gateway_naming_the_setting()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Auth:SigningKey=short", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={System.IO.Path.GetTempPath()}dmp-auth-short");

        Assert.Equal(64, code);
        Assert.Contains("Dmp:Auth:SigningKey", stderr, StringComparison.Ordinal);
    }

    private static async Task<RunningGateway> StartAsync(string dataDir, params (string Key, string Value)[] settings)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Dmp:Http:Port"] = "0",
            ["Dmp:Mllp:Port"] = "0",
            ["Dmp:DataDir"] = dataDir,
        };
        foreach (var (k, v) in settings)
            overrides[k] = v;
        var app = GatewayHost.Build(overrides);
        await app.StartAsync();
        return new RunningGateway(app);
    }

    private sealed class RunningGateway(WebApplication app) : IAsyncDisposable
    {
        public HttpClient Client(string? token)
        {
            var endpoint = app.Services.GetRequiredService<ListenerEndpoints>().HttpEndPoint!;
            var client = new HttpClient { BaseAddress = new Uri($"http://{endpoint}"), Timeout = TimeSpan.FromSeconds(30) };
            if (token is not null)
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return client;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}

/// <summary>A temporary folder deleted at the end of a test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("dmp-test-").FullName;
    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
