using System.Security.Claims;

namespace Dmp.Ingest.Worker.Auth;

/// <summary>The claims and roles of a dmp-ingest token, and the one rule that reads them for the whole API.</summary>
public static class DmpClaims
{
    public const string Role = "role";
    public const string Ins = "ins";
    public const string Rpps = "rpps";
    public const string Org = "org";
    public const string Subject = "sub";

    public const string Patient = "patient";
    public const string Professional = "professional";
    public const string Operator = "operator";

    public const string OperatorPolicy = "operator";

    /// <summary>The roles a token may carry, exactly one of them.</summary>
    public static readonly IReadOnlyList<string> Roles = [Patient, Professional, Operator];

    /// <summary>
    /// Why a validated token's claims are refused, or null when they hold: exactly one `role` among <see cref="Roles"/>
    /// (a list, or the claim repeated, is refused: `/api` and `/fhir` must not read one token as two callers); at most
    /// one `ins` and one `rpps`, an `ins` of 15 characters (<see cref="IsIns"/>), an `rpps` of 11 digits; a patient
    /// carries an `ins`, a professional an `rpps`. The reason names claims, never their values.
    /// </summary>
    public static string? Refusal(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        var roles = principal.FindAll(Role).Select(c => c.Value).ToList();
        if (roles.Count == 0)
            return "the token carries no role claim (one of patient, professional, operator)";
        if (roles.Count > 1)
            return $"the token carries {roles.Count} roles: exactly one of patient, professional, operator is allowed";
        var role = roles[0];
        if (!Roles.Contains(role))
            return "the token's role is not one of patient, professional, operator";

        var ins = principal.FindAll(Ins).Select(c => c.Value).ToList();
        var rpps = principal.FindAll(Rpps).Select(c => c.Value).ToList();
        if (ins.Count > 1)
            return "the token carries several ins claims";
        if (rpps.Count > 1)
            return "the token carries several rpps claims";
        if (ins.Count == 1 && !IsIns(ins[0]))
            return "the token's ins must be the 15-character INS (digits; 2A or 2B for a Corsican birthplace)";
        if (rpps.Count == 1 && !IsRpps(rpps[0]))
            return "the token's rpps must be the 11-digit RPPS number";
        if (role == Patient && ins.Count == 0)
            return "a patient token carries the patient's ins";
        if (role == Professional && rpps.Count == 0)
            return "a professional token carries the professional's rpps";
        return null;
    }

    /// <summary>
    /// The first top-level member the JWT payload (base64url JSON) names twice, or null. JSON parsers disagree on a
    /// repeated member (first, last, both), so a token that repeats one is refused rather than read one way here and
    /// another way by whoever issued or inspects it.
    /// </summary>
    public static string? RepeatedMember(string encodedPayload)
    {
        ArgumentNullException.ThrowIfNull(encodedPayload);
        var reader = new System.Text.Json.Utf8JsonReader(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(encodedPayload));
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            if (reader.TokenType == System.Text.Json.JsonTokenType.PropertyName && reader.CurrentDepth == 1 && !names.Add(reader.GetString()!))
                return reader.GetString();
        }

        return null;
    }

    /// <summary>
    /// An INS (the NIR as PID-3.1 and the token carry it): 15 characters, digits, except that the two characters of
    /// the birth department (positions 6 and 7) may be 2A or 2B for Corsica.
    /// </summary>
    public static bool IsIns(string? value)
    {
        if (value is not { Length: 15 })
            return false;
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsAsciiDigit(value[i]))
                continue;
            if (i == 6 && value[5] == '2' && value[i] is 'A' or 'B')
                continue;
            return false;
        }

        return true;
    }

    /// <summary>An RPPS number as the token carries it: exactly 11 digits.</summary>
    public static bool IsRpps(string? value) => value is { Length: Dmp.Model.Rpps.Length } && value.All(char.IsAsciiDigit);
}

/// <summary>A token whose signature and lifetime are valid but whose claims break <see cref="DmpClaims.Refusal"/> (or the lifetime cap).</summary>
public sealed class TokenClaimsException : Exception
{
    public TokenClaimsException()
    {
    }

    public TokenClaimsException(string message) : base(message)
    {
    }

    public TokenClaimsException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
