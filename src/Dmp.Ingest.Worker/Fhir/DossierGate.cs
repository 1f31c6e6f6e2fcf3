using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using Dmp.Ingest.Worker.Telemetry;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>A request's dossier, once resolved, and what the caller may do in it.</summary>
/// <param name="Patient">The patient whose dossier it is (the survivor when the request named a merged record).</param>
/// <param name="Addressed">The record the request named.</param>
public sealed record DossierScope(FhirCaller Caller, PatientRecord Patient, PatientRecord Addressed, DossierFacts? Dossier, DossierAccess Access)
{
    public long PatientId => Patient.Id;

    public AuditRecord Audit(string action, string? entityType, string? entityId, string outcome, string? detail = null) =>
        AccessPolicy.Audit(Caller, Access, Patient.Id, action, entityType, entityId, outcome, detail);
}

/// <summary>Either the dossier scope to work in, or the response that ends the request (and, for a dossier refused by the policy, why).</summary>
public sealed record GateResult(DossierScope? Scope, IResult? Response, string? Denial = null)
{
    public static GateResult End(IResult response) => new(null, response);
}

/// <summary>
/// The door every dossier request goes through: resolves the patient the request names (following
/// A40 merges to the survivor), asks <see cref="AccessPolicy"/>, and audits a refusal in the dossier's
/// chain before answering 403. Successful accesses are audited by the endpoint once it knows what it served.
/// </summary>
public sealed class DossierGate(DmpStore store, DossierQueries queries, AccessPolicy policy, GatewayMetrics metrics)
{
    public DossierQueries Queries => queries;

    /// <summary>
    /// Counts a dossier request by its audited action and outcome (`dmp_dossier_requests_total`). Every way a request
    /// ends here is counted; an endpoint that audits through the store's rights calls counts itself.
    /// </summary>
    public void Count(string operation, string outcome) => metrics.DossierRequest(operation, outcome);

    /// <summary>The dossier named by a search's `patient` or `patient.identifier` (exactly one of them).</summary>
    public async Task<GateResult> ForSearchAsync(
        HttpContext http, SearchParameters search, string action, string entityType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(search);
        var byId = search.Single("patient");
        var byIdentifier = search.Single("patient.identifier");
        if ((byId is null) == (byIdentifier is null))
            throw new SearchParameterException("give exactly one of patient or patient.identifier (a search reads one dossier)");

        PatientRecord? addressed;
        if (byId is not null)
        {
            if (SearchParameters.PatientReference(byId) is not { } id)
                throw new SearchParameterException($"patient '{byId}' is not a Patient id or reference");
            addressed = await queries.GetPatientAsync(id, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            addressed = await FindByIdentifierAsync(byIdentifier!, "patient.identifier", cancellationToken).ConfigureAwait(false);
        }

        if (addressed is null)
        {
            return GateResult.End(await NoPatientAsync(http, action, entityType, byId is not null ? "patient=" + byId : "patient.identifier=" + byIdentifier,
                FhirResults.NotFound("no patient matches the search's patient parameter"), cancellationToken).ConfigureAwait(false));
        }

        return await EvaluateAsync(http, addressed, action, entityType, null, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The answer to a search naming no patient the server knows. Only a professional may learn that (as the DMP
    /// allows): their check is audited (in the chain of events without a dossier) and answered with
    /// <paramref name="professionalAnswer"/>. Anyone else gets the very 403 a dossier not theirs gets, so a patient
    /// cannot tell an identifier that exists from one that does not.
    /// </summary>
    public async Task<IResult> NoPatientAsync(HttpContext http, string action, string entityType, string searched, IResult professionalAnswer, CancellationToken cancellationToken)
    {
        var caller = FhirCaller.From(http);
        if (caller.Role != Auth.DmpClaims.Professional)
        {
            Count(action, AuditOutcomes.Denied);
            return SearchRefusal(AccessPolicy.DenialFor(caller));
        }
        Count(action, AuditOutcomes.NotFound);
        await store.Audit.AppendAsync(
            new AuditRecord(null, caller.AgentKind, caller.AgentId, caller.Role, action, entityType, null, AuditOutcomes.NotFound,
                caller.InvokesEmergency ? AuditPurposes.BreakGlass : null, caller.BreakGlassReason, "existence check: no patient matches " + searched),
            cancellationToken).ConfigureAwait(false);
        return professionalAnswer;
    }

    /// <summary>The 403 of a search on a dossier the caller may not read; its text depends on the caller alone for anyone but a professional.</summary>
    private static IResult SearchRefusal(string? denial) => FhirResults.Forbidden("this caller may not read this dossier: " + denial);

    /// <summary>The patient known by a token-style identifier (`urn:oid:<OID>|<value>`, `|value` or `value`).</summary>
    public Task<PatientRecord?> FindByIdentifierAsync(string token, string parameter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Contains(',', StringComparison.Ordinal))
            throw new SearchParameterException($"{parameter} names one patient (no comma-separated alternatives)");
        var bar = token.IndexOf('|', StringComparison.Ordinal);
        var system = bar > 0 ? token[..bar] : null;
        var value = bar >= 0 ? token[(bar + 1)..] : token;
        if (value.Length == 0)
            throw new SearchParameterException($"{parameter} '{token}' has no value");
        if (system is not null && system.StartsWith("urn:oid:", StringComparison.Ordinal))
            system = system["urn:oid:".Length..];
        return queries.FindPatientByIdentifierAsync(system, value, cancellationToken);
    }

    /// <summary>
    /// The dossier of the patient with this id, for a request by id. Absent and refused answer the same
    /// <paramref name="notVisible"/> (`{Type}/{id} is not found`), so ids reveal nothing; the audit trail of an
    /// existing dossier still records the refusal and its reason.
    /// </summary>
    public async Task<GateResult> ForPatientAsync(
        HttpContext http, long patientId, string action, string entityType, string? entityId, IResult notVisible, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notVisible);
        var addressed = await queries.GetPatientAsync(patientId, cancellationToken).ConfigureAwait(false);
        if (addressed is null)
        {
            Count(action, AuditOutcomes.NotFound);
            return GateResult.End(notVisible);
        }
        return await EvaluateAsync(http, addressed, action, entityType, entityId, notVisible, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The same, for callers that name the status (the entry reads): a request by id only ever answers 404, absent and
    /// refused alike, `{<paramref name="entityType"/>}/{id} is not found`; any other status is a mistake.
    /// </summary>
    public Task<GateResult> ForPatientAsync(
        HttpContext http, long patientId, string action, string entityType, string? entityId, int deniedStatus, CancellationToken cancellationToken)
    {
        if (deniedStatus != StatusCodes.Status404NotFound)
            throw new ArgumentOutOfRangeException(nameof(deniedStatus), deniedStatus, "a request by id answers 404 for absent and refused alike");
        return ForPatientAsync(http, patientId, action, entityType, entityId, FhirResults.NotFound($"{entityType}/{entityId} is not found"), cancellationToken);
    }

    public Task AuditAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        Count(record.Action, record.Outcome);
        return store.Audit.AppendAsync(record, cancellationToken);
    }

    /// <summary>Audits the access and answers with <paramref name="response"/> once the event is durable.</summary>
    public async Task<IResult> AuditedAsync(AuditRecord record, IResult response, CancellationToken cancellationToken)
    {
        await store.Audit.AppendAsync(record, cancellationToken).ConfigureAwait(false);
        Count(record.Action, record.Outcome);
        return response;
    }

    /// <summary>
    /// The dossier of a patient record already found. A refusal answers <paramref name="notVisible"/> when given (a
    /// request by id), else the search's 403.
    /// </summary>
    public async Task<GateResult> EvaluateAsync(
        HttpContext http, PatientRecord addressed, string action, string entityType, string? entityId, IResult? notVisible,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(addressed);
        var caller = FhirCaller.From(http);
        // Merged patients resolve to the survivor: their documents moved there with the A40.
        var patient = await queries.ResolveSurvivorAsync(addressed, cancellationToken).ConfigureAwait(false);
        if (patient is null)
        {
            Count(action, notVisible is null && caller.Role != Auth.DmpClaims.Professional ? AuditOutcomes.Denied : AuditOutcomes.NotFound);
            return GateResult.End(notVisible ?? (caller.Role == Auth.DmpClaims.Professional
                ? FhirResults.NotFound($"Patient/{addressed.Id} was merged into a record that no longer resolves")
                : SearchRefusal(AccessPolicy.DenialFor(caller))));
        }
        var dossier = await queries.GetDossierAsync(patient.Id, caller.Rpps, caller.Organisation, cancellationToken).ConfigureAwait(false);
        var access = policy.Evaluate(caller, patient, addressed, dossier);
        var scope = new DossierScope(caller, patient, addressed, dossier, access);
        if (access.Allowed)
            return new GateResult(scope, null);

        await store.Audit.AppendAsync(scope.Audit(action, entityType, entityId, AuditOutcomes.Denied), cancellationToken).ConfigureAwait(false);
        Count(action, AuditOutcomes.Denied);
        return new GateResult(null, notVisible ?? SearchRefusal(access.Denial), access.Denial);
    }
}
