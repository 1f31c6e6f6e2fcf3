using Dmp.Store.Audit;
using Dmp.Store.Dossier;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// Read by id of the clinical entries (`GET /fhir/{EntryType}/{id}`, every kind of <see cref="DossierResources.EntryKinds"/>),
/// by the public id the entry was given when first stored. The same door and the same visibility as the entry
/// searches; one answer, 404 "{type}/{id} is not found", whether the entry is absent or not the caller's to see.
/// </summary>
public static class EntryEndpoints
{
    /// <summary>The longest id FHIR allows (and so the longest looked up).</summary>
    private const int MaxIdLength = 64;

    public static void Map(RouteGroupBuilder fhir)
    {
        ArgumentNullException.ThrowIfNull(fhir);
        foreach (var kind in DossierResources.EntryKinds)
            fhir.MapGet("/" + kind + "/{id}", (string id, HttpContext http, DossierGate gate, CancellationToken ct) => ReadAsync(kind, id, http, gate, ct));
    }

    private static async Task<IResult> ReadAsync(string kind, string id, HttpContext http, DossierGate gate, CancellationToken ct)
    {
        var notFound = FhirResults.NotFound($"{kind}/{id} is not found");
        if (!IsFhirId(id))
            return notFound;
        var any = await gate.Queries.GetEntryAsync(kind, id, null, ct);
        if (any is null)
            return notFound;

        // A refusal is audited by the gate in the entry's dossier; its answer is the absent entry's, word for word.
        var gated = await gate.ForPatientAsync(http, any.PatientId, AuditActions.Read, kind, id, StatusCodes.Status404NotFound, ct);
        if (gated.Scope is not { } scope)
            return notFound;
        var visible = await gate.Queries.GetEntryAsync(kind, id, scope.Access.Visibility, ct);
        if (visible is null || visible.PatientId != scope.PatientId)
        {
            return await gate.AuditedAsync(
                scope.Audit(AuditActions.Read, kind, id, AuditOutcomes.Denied, "the entry's document is not visible to this caller"), notFound, ct);
        }

        if (DossierResources.Entry(visible) is not { } resource)
        {
            return await gate.AuditedAsync(
                scope.Audit(AuditActions.Read, kind, id, AuditOutcomes.NotFound, "the entry is stored in a form this server cannot read"), notFound, ct);
        }

        return await gate.AuditedAsync(scope.Audit(AuditActions.Read, kind, id, AuditOutcomes.Success), FhirResults.Resource(resource), ct);
    }

    /// <summary>FHIR's id: 1 to 64 of A-Z a-z 0-9 - and '.'.</summary>
    private static bool IsFhirId(string id) =>
        id.Length is > 0 and <= MaxIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
}
