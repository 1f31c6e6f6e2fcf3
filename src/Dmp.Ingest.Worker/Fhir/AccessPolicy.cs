using Dmp.Ingest.Worker.Auth;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>Why a caller may read a dossier.</summary>
public enum AccessBasis
{
    /// <summary>The patient themself (token INS = the patient's INS).</summary>
    Owner,
    /// <summary>The treating physician the patient named: sees everything, masked documents included.</summary>
    TreatingPhysician,
    /// <summary>A professional the patient authorised ($authorize).</summary>
    Authorised,
    /// <summary>A member of an organisation whose ADT recorded the patient's consent to consultation (ZFA-11 = IC).</summary>
    OrganisationConsent,
    /// <summary>Emergency access ("bris de glace") with a stated reason.</summary>
    Emergency,
}

/// <summary>
/// The access policy's answer for one caller and one dossier: whether they may read it at all, on
/// what basis, which documents they see, and what the audit trail records about the access.
/// </summary>
public sealed record DossierAccess
{
    public const string BreakGlass = AuditPurposes.BreakGlass;

    public required bool Allowed { get; init; }
    public AccessBasis? Basis { get; init; }
    /// <summary>Why the dossier is refused (said in the 403 and in the audit event).</summary>
    public string? Denial { get; init; }
    /// <summary>What the caller sees inside the dossier (null when refused).</summary>
    public CallerView? Visibility { get; init; }
    /// <summary>BTG for an emergency access (and for a refused emergency attempt).</summary>
    public string? PurposeOfUse { get; init; }

    /// <summary>Only the patient exercises the patient's rights (mask, delete, close, authorise …).</summary>
    public bool MayExerciseRights => Allowed && Basis == AccessBasis.Owner;

    /// <summary>An authorised professional or the treating physician may unhide a document after the announcement consultation.</summary>
    public bool MayUnhide => Allowed && Basis is AccessBasis.TreatingPhysician or AccessBasis.Authorised or AccessBasis.OrganisationConsent;

    /// <summary>The agent's role as the audit trail and the patient see it.</summary>
    public string AgentRole(FhirCaller caller) => Basis switch
    {
        AccessBasis.Owner => AuditAgentKinds.Patient,
        AccessBasis.TreatingPhysician => "treating-physician",
        AccessBasis.Authorised => "authorised",
        AccessBasis.OrganisationConsent => "organisation-consent",
        AccessBasis.Emergency => "emergency",
        _ => caller.Role ?? "unknown",
    };
}

/// <summary>
/// The dossier API's access rules, in one place (DESIGN.md "Access rules"): the patient reads their own
/// dossier, masked documents included, but not the documents hidden from them until unhidden or past
/// the delay; a professional reads an open dossier when authorised by the patient or through their
/// organisation's recorded consent, never masked documents except as treating physician (all) or author
/// (their own); emergency access reads an open dossier the patient did not oppose it for, masked documents
/// still hidden; a closed dossier refuses every professional; operators have no FHIR access.
/// Every endpoint asks <see cref="Evaluate"/> before it reads or writes anything of a dossier.
/// </summary>
public sealed class AccessPolicy(IOptions<AccessOptions> options, TimeProvider time)
{
    private readonly int _hiddenDays = options.Value.PatientHiddenDays;

    /// <summary>
    /// Decides what <paramref name="caller"/> may read of the dossier of <paramref name="patient"/> (the merge
    /// survivor; <paramref name="addressed"/> is the record the request named, which may have been merged into it).
    /// A patient without a dossier row is treated as having a closed one for professionals.
    /// </summary>
    public DossierAccess Evaluate(FhirCaller caller, PatientRecord patient, PatientRecord addressed, DossierFacts? dossier)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(patient);
        ArgumentNullException.ThrowIfNull(addressed);
        var now = time.GetUtcNow();
        switch (caller.Role)
        {
            case DmpClaims.Patient:
                if (!caller.IsPatient || !(SameIns(caller.Ins, patient.Ins) || SameIns(caller.Ins, addressed.Ins)))
                    return Denied(DenialFor(caller));
                return new DossierAccess
                {
                    Allowed = true,
                    Basis = AccessBasis.Owner,
                    Visibility = new CallerView
                    {
                        IncludeMasked = true,
                        PatientView = true,
                        HiddenStoredBefore = now.AddDays(-_hiddenDays),
                        Now = now,
                    },
                };

            case DmpClaims.Professional:
                return EvaluateProfessional(caller, dossier, now);

            default:
                return Denied(DenialFor(caller));
        }
    }

    /// <summary>
    /// Why anyone but a professional is refused a dossier that is not theirs. It depends on the caller alone, so the
    /// 403 of a search reads the same whether the dossier searched for exists or not.
    /// </summary>
    public static string DenialFor(FhirCaller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return caller.Role == DmpClaims.Patient ? "this dossier is not the caller's own" : "operators and other roles have no access to dossiers";
    }

    private static DossierAccess EvaluateProfessional(FhirCaller caller, DossierFacts? dossier, DateTimeOffset now)
    {
        var purpose = caller.InvokesEmergency ? DossierAccess.BreakGlass : null;
        if (!caller.IsProfessional)
            return Denied("the token carries no RPPS", purpose);
        if (dossier is null)
            return Denied("the patient has no dossier", purpose);
        if (!dossier.IsOpen)
            return Denied("the dossier is closed", purpose);

        if (dossier.TreatingRpps is { } treating && treating == caller.Rpps)
            return Allowed(AccessBasis.TreatingPhysician, new CallerView { IncludeMasked = true, Now = now });

        // Authorised professionals see masked documents only when they wrote them.
        var authorised = new CallerView { IncludeMasked = false, MaskedAuthorRpps = caller.Rpps, Now = now };
        if (dossier.ProfessionalAuthorised)
            return Allowed(AccessBasis.Authorised, authorised);
        if (caller.Organisation is not null && dossier.OrganisationConsents)
            return Allowed(AccessBasis.OrganisationConsent, authorised);

        if (caller.InvokesEmergency)
        {
            if (dossier.OpposesEmergency)
                return Denied("the patient opposed emergency access", purpose);
            // Our stricter choice: emergency access never shows masked documents, whoever wrote them.
            return Allowed(AccessBasis.Emergency, new CallerView { IncludeMasked = false, Now = now }, purpose);
        }

        return Denied("the professional is not authorised on this dossier");
    }

    private static bool SameIns(string? a, string? b) => a is not null && b is not null && string.Equals(a, b, StringComparison.Ordinal);

    private static DossierAccess Allowed(AccessBasis basis, CallerView visibility, string? purpose = null) =>
        new() { Allowed = true, Basis = basis, Visibility = visibility, PurposeOfUse = purpose };

    private static DossierAccess Denied(string why, string? purpose = null) =>
        new() { Allowed = false, Denial = why, PurposeOfUse = purpose };

    /// <summary>The audit event of one access or right, in the dossier's chain.</summary>
    public static AuditRecord Audit(
        FhirCaller caller, DossierAccess access, long patientId, string action, string? entityType, string? entityId, string outcome,
        string? detail = null) =>
        new(patientId, caller.AgentKind, caller.AgentId, access.AgentRole(caller), action, entityType, entityId, outcome,
            access.PurposeOfUse, caller.BreakGlassReason, detail ?? (access.Allowed ? null : access.Denial));
}
