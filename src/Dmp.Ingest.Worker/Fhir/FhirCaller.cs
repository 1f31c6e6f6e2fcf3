using Dmp.Ingest.Worker.Auth;
using Dmp.Store.Audit;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// Who calls the dossier API, from their token's claims (role, INS, RPPS, organisation) and the
/// emergency header `X-Break-Glass-Reason` (a professional's stated reason for emergency access).
/// </summary>
public sealed record FhirCaller(string? Role, string? Ins, string? Rpps, string? Organisation, string? Subject, string? BreakGlassReason)
{
    public const string BreakGlassHeader = "X-Break-Glass-Reason";

    /// <summary>
    /// Where the console puts the reason its emergency form gave (an empty string: none). When set it is the only
    /// source: a console request never invokes emergency access by header.
    /// </summary>
    public const string BreakGlassItem = "dmp.break-glass-reason";

    /// <summary>Longest emergency reason kept in the audit trail.</summary>
    private const int MaxReasonLength = 500;

    public bool IsPatient => Role == DmpClaims.Patient && !string.IsNullOrEmpty(Ins);
    public bool IsProfessional => Role == DmpClaims.Professional && !string.IsNullOrEmpty(Rpps);

    /// <summary>A professional who stated an emergency reason.</summary>
    public bool InvokesEmergency => Role == DmpClaims.Professional && BreakGlassReason is not null;

    /// <summary>The audit trail's agent kind: patient, professional or operator.</summary>
    public string AgentKind => Role switch
    {
        DmpClaims.Patient => AuditAgentKinds.Patient,
        DmpClaims.Professional => AuditAgentKinds.Professional,
        DmpClaims.Operator => AuditAgentKinds.Operator,
        _ => "unknown",
    };

    /// <summary>The audit trail's agent id: the INS of a patient, the RPPS of a professional, else the token's subject.</summary>
    public string? AgentId => Role switch
    {
        DmpClaims.Patient => Ins,
        DmpClaims.Professional => Rpps,
        _ => Subject,
    };

    public static FhirCaller From(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var user = http.User;
        // HTTP header values are ASCII: a reason with accents comes percent-encoded (UTF-8), as RFC 8187 does.
        string? reason;
        if (http.Items.TryGetValue(BreakGlassItem, out var stated))
            reason = (stated as string ?? "").Trim();
        else
            reason = http.Request.Headers[BreakGlassHeader].ToString().Trim();
        if (!http.Items.ContainsKey(BreakGlassItem) && reason.Contains('%', StringComparison.Ordinal))
            reason = Uri.UnescapeDataString(reason).Trim();
        if (reason.Length == 0)
            reason = null;
        else if (reason.Length > MaxReasonLength)
            reason = reason[..MaxReasonLength];
        return new FhirCaller(
            user.FindFirst(DmpClaims.Role)?.Value,
            user.FindFirst(DmpClaims.Ins)?.Value,
            user.FindFirst(DmpClaims.Rpps)?.Value,
            user.FindFirst(DmpClaims.Org)?.Value,
            user.FindFirst(DmpClaims.Subject)?.Value,
            reason);
    }
}
