using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dmp.Ingest.Worker.Auth;

/// <summary>Signs development tokens (HS256) with the configured or data-folder key.</summary>
public static class TokenIssuer
{
    public static string Issue(byte[] key, string audience, string role, string? ins, string? rpps, string? org, TimeSpan lifetime, DateTime? now = null)
    {
        var issued = now ?? DateTime.UtcNow;
        var claims = new List<Claim> { new(DmpClaims.Role, role) };
        var subject = role switch
        {
            DmpClaims.Patient => "patient:" + ins,
            DmpClaims.Professional => "rpps:" + rpps,
            _ => "operator",
        };
        claims.Add(new Claim(DmpClaims.Subject, subject));
        if (ins is not null)
            claims.Add(new Claim(DmpClaims.Ins, ins));
        if (rpps is not null)
            claims.Add(new Claim(DmpClaims.Rpps, rpps));
        if (org is not null)
            claims.Add(new Claim(DmpClaims.Org, org));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = AuthOptions.DevIssuer,
            Audience = audience,
            Subject = new ClaimsIdentity(claims),
            IssuedAt = issued,
            NotBefore = issued,
            Expires = issued + lifetime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}
