using System.Text.Json;
using Dmp.Ingest.Worker.Hosting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Dmp.Ingest.Worker.Auth;

/// <summary>
/// JWT bearer authentication for the whole API: an OIDC authority in production, the development
/// HS256 key otherwise. 401 and 403 answer in the API's error format.
/// </summary>
public static class GatewayAuthentication
{
    public static void Add(WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddSingleton<IConfigureOptions<JwtBearerOptions>, ConfigureJwt>();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(DmpClaims.OperatorPolicy, p => p.RequireAuthenticatedUser().RequireClaim(DmpClaims.Role, DmpClaims.Operator))
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
    }

    private sealed class ConfigureJwt(IOptions<AuthOptions> auth, IOptions<GatewayOptions> gateway, ILoggerFactory logs) : IConfigureNamedOptions<JwtBearerOptions>
    {
        public void Configure(string? name, JwtBearerOptions options) => Configure(options);

        public void Configure(JwtBearerOptions options)
        {
            var a = auth.Value;
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateAudience = true,
                ValidAudience = a.Audience,
                ValidateLifetime = true,
                ClockSkew = TimeSpan.FromSeconds(30),
                RoleClaimType = DmpClaims.Role,
                NameClaimType = DmpClaims.Subject,
            };
            if (!string.IsNullOrEmpty(a.Authority))
            {
                options.Authority = a.Authority;
                options.Audience = a.Audience;
                options.RequireHttpsMetadata = a.RequireHttpsMetadata;
                options.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];
            }
            else
            {
                var (key, fromFile) = DevSigningKey.Resolve(a, gateway.Value.DataDirFullPath);
                if (fromFile)
                    logs.CreateLogger("Dmp.Auth").LogWarning("Development authentication: tokens are signed with {File}; set Dmp:Auth:Authority in production", Path.Combine(gateway.Value.DataDirFullPath, DevSigningKey.FileName));
                options.TokenValidationParameters.ValidIssuer = a.Issuer;
                options.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(key);
                options.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
            }
            var development = string.IsNullOrEmpty(a.Authority);
            var maxLifetime = a.MaxTokenLifetime;
            var skew = options.TokenValidationParameters.ClockSkew;
            options.Events = new JwtBearerEvents
            {
                // One reading of the claims for /api and /fhir alike: a token they would read differently never gets in.
                OnTokenValidated = context =>
                {
                    var refusal = context.SecurityToken is Microsoft.IdentityModel.JsonWebTokens.JsonWebToken jwt && DmpClaims.RepeatedMember(jwt.EncodedPayload) is { } repeated
                        ? $"the token names the claim {(repeated.Length <= 32 && repeated.All(char.IsAsciiLetterOrDigit) ? repeated : "(not a plain name)")} twice"
                        : DmpClaims.Refusal(context.Principal!);
                    // The wall clock, as the token library's own lifetime check (nbf, exp) reads it — not the host's TimeProvider.
                    if (refusal is null && development && context.SecurityToken.ValidTo > DateTime.UtcNow + maxLifetime + skew)
                        refusal = $"the token's exp is further than Dmp:Auth:MaxTokenLifetime ({maxLifetime}) from now";
                    if (refusal is not null)
                        context.Fail(new TokenClaimsException(refusal));
                    return Task.CompletedTask;
                },
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    // Only the claim rules' own reasons are told (they name claims, never values); a signature or
                    // lifetime failure stays the generic answer.
                    if (context.AuthenticateFailure is TokenClaimsException refused)
                    {
                        await WriteErrorAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "the token is refused: " + refused.Message,
                            $"Bearer error=\"invalid_token\", error_description=\"{refused.Message.Replace('"', '\'')}\"");
                        return;
                    }

                    await WriteErrorAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "a valid bearer token is required");
                },
                OnForbidden = context => WriteErrorAsync(context.HttpContext, StatusCodes.Status403Forbidden, "this token's role may not use this endpoint"),
            };
        }
    }

    /// <summary>401/403 bodies: an OperationOutcome under /fhir, problem+json elsewhere.</summary>
    public static async Task WriteErrorAsync(HttpContext http, int status, string detail, string? challenge = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
            http.Response.Headers.WWWAuthenticate = challenge ?? "Bearer";
        if (http.Request.Path.StartsWithSegments("/fhir"))
        {
            http.Response.ContentType = "application/fhir+json";
            var code = status == 401 ? "login" : "forbidden";
            await http.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                resourceType = "OperationOutcome",
                issue = new[] { new { severity = "error", code, diagnostics = detail } },
            }));
        }
        else
        {
            http.Response.ContentType = "application/problem+json";
            await http.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                type = "about:blank",
                title = status == 401 ? "Unauthorized" : "Forbidden",
                status,
                detail,
            }));
        }
    }
}
