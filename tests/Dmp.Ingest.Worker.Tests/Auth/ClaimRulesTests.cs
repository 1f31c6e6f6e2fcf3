using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dmp.Ingest.Worker.Tests.Auth;

/// <summary>
/// Issue 16, claims: one reading of a token's claims for `/api` and `/fhir` alike. A token carrying several roles, an
/// `rpps` that is not 11 digits, an `ins` that is not 15 characters, or an `exp` beyond Dmp:Auth:MaxTokenLifetime is
/// refused with 401 on both, saying why; well-formed tokens (those the `token` verb prints) still pass.
/// </summary>
public sealed class ClaimRulesTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes(TestGateway.SigningKey);

    private static string Sign(Dictionary<string, object> claims, DateTime? expires = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthOptions.DevIssuer,
            Audience = "dmp-ingest",
            Claims = claims,
            IssuedAt = DateTime.UtcNow,
            NotBefore = DateTime.UtcNow,
            Expires = expires ?? DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Key), SecurityAlgorithms.HmacSha256),
        });

    /// <summary>A token whose payload is written as is — here with the `role` member twice, which no library writes.</summary>
    private static string SignRaw(string payload)
    {
        static string B64(byte[] bytes) => Base64UrlEncoder.Encode(bytes);
        var unsigned = B64("""{"alg":"HS256","typ":"JWT"}"""u8.ToArray()) + "." + B64(Encoding.UTF8.GetBytes(payload));
        return unsigned + "." + B64(HMACSHA256.HashData(Key, Encoding.ASCII.GetBytes(unsigned)));
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static TheoryData<string, string> RefusedTokens()
    {
        var ins = DossierSeed.NewIns();
        return new TheoryData<string, string>
        {
            { "roles as a list", Sign(new() { ["role"] = new[] { "patient", "operator" }, ["ins"] = ins, ["sub"] = "x" }) },
            { "the role claim repeated", SignRaw($$"""{"role":"patient","role":"operator","ins":"{{ins}}","sub":"x","iss":"{{AuthOptions.DevIssuer}}","aud":"dmp-ingest","nbf":{{Now}},"iat":{{Now}},"exp":{{Now + 600}}}""") },
            { "no role", Sign(new() { ["sub"] = "x" }) },
            { "an unknown role", Sign(new() { ["role"] = "admin", ["sub"] = "x" }) },
            { "rpps with a quote", Sign(new() { ["role"] = "professional", ["rpps"] = "12'3", ["sub"] = "x" }) },
            { "rpps of 10 digits", Sign(new() { ["role"] = "professional", ["rpps"] = "1000000000", ["sub"] = "x" }) },
            { "a professional without rpps", Sign(new() { ["role"] = "professional", ["sub"] = "x" }) },
            { "ins of 14 characters", Sign(new() { ["role"] = "patient", ["ins"] = ins[..14], ["sub"] = "x" }) },
            { "ins with letters", Sign(new() { ["role"] = "patient", ["ins"] = "1ABCDEFGHIJKLMN", ["sub"] = "x" }) },
            { "two ins", Sign(new() { ["role"] = "patient", ["ins"] = new[] { ins, DossierSeed.NewIns() }, ["sub"] = "x" }) },
            { "exp in 2100", Sign(new() { ["role"] = "operator", ["sub"] = "x" }, new DateTime(2100, 1, 1, 0, 0, 0, DateTimeKind.Utc)) },
            { "exp 25 hours away", Sign(new() { ["role"] = "operator", ["sub"] = "x" }, DateTime.UtcNow.AddHours(25)) },
        };
    }

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task A_token_breaking_a_claim_rule_is_401_on_api_and_fhir_alike(string why, string token)
    {
        using var client = fixture.Gateway.Client(token);

        foreach (var (url, mediaType) in new[] { ("/api/messages", "application/problem+json"), ("/fhir/DocumentReference?patient=1", "application/fhir+json") })
        {
            using var response = await client.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{why} on {url}: {(int)response.StatusCode} {body}");
            Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
            var challenge = response.Headers.WwwAuthenticate.ToString();
            Assert.Contains("error=\"invalid_token\"", challenge, StringComparison.Ordinal);
            Assert.Contains("the token is refused", body, StringComparison.Ordinal);
            Assert.DoesNotContain("12'3", body + challenge, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Well_formed_tokens_pass_a_corsican_ins_included()
    {
        var corsican = "18507" + "2A" + "12345678";
        using var op = fixture.Gateway.Client(DossierSeed.OperatorToken());
        using var corsicanPatient = fixture.Gateway.Client(DossierSeed.PatientToken(corsican));
        using var professional = fixture.Gateway.Client(Sign(new() { ["role"] = "professional", ["rpps"] = "10000000004", ["sub"] = "x" }, DateTime.UtcNow.AddHours(23)));

        Assert.Equal(HttpStatusCode.OK, (await op.GetAsync("/api/messages?limit=1")).StatusCode);
        // Authenticated: the patient is refused another dossier (403), not the token (401).
        Assert.Equal(HttpStatusCode.Forbidden, (await corsicanPatient.GetAsync("/fhir/DocumentReference?patient=1")).StatusCode);
        var response = await professional.GetAsync("/fhir/Patient?identifier=" + DossierSeed.NewIns());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void The_ins_rule_accepts_digits_and_corsican_departments_only()
    {
        Assert.True(DmpClaims.IsIns("279035121518989"));
        Assert.True(DmpClaims.IsIns("185072A12345678"));
        Assert.True(DmpClaims.IsIns("185072B12345678"));
        Assert.False(DmpClaims.IsIns("18507A212345678"));
        Assert.False(DmpClaims.IsIns("185072C12345678"));
        Assert.False(DmpClaims.IsIns("27903512151898"));
        Assert.False(DmpClaims.IsIns("2790351215189890"));
        Assert.True(DmpClaims.IsRpps("10000000004"));
        Assert.False(DmpClaims.IsRpps("810000000004"));
        Assert.False(DmpClaims.IsRpps("12'3"));
    }

    [Fact]
    public void A_list_of_roles_is_read_as_several_role_claims()
    {
        // What the middleware sees of a role list: the reason the rule counts claims rather than reading the first.
        var jwt = new JsonWebToken(Sign(new() { ["role"] = new[] { "patient", "operator" } }));
        Assert.Equal(2, jwt.Claims.Count(c => c.Type == DmpClaims.Role));
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.EncodedPayload)).RootElement.GetProperty("role").ValueKind);
    }
}
