using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>
/// One model record as its FHIR R4 resource, as the dossier stores it per entry or document: the same projection the
/// Bundle uses, with the subject left null for the reader to set.
/// </summary>
public static class ResourceProjection
{
    /// <summary>
    /// The record's resource. A report gets no results or specimen here: its results are entries of their own (see
    /// <see cref="DiagnosticReportProjection.ToFhir"/>); a report read from a document is also laboratory.
    /// </summary>
    /// <exception cref="ArgumentException">The record is not one of the model's clinical records or documents.</exception>
    public static F.Resource ToResource(object record, string id, F.ResourceReference? subject = null) => record switch
    {
        Allergy a => AllergyProjection.ToFhir(a, id, subject),
        Problem p => ConditionProjection.ToFhir(p, id, subject),
        Medication m => MedicationProjection.ToFhir(m, id, subject),
        Immunization i => ImmunizationProjection.ToFhir(i, id, subject),
        Procedure p => ProcedureProjection.ToFhir(p, id, subject),
        Observation o => ObservationProjection.ToFhir(o, id, subject),
        Encounter e => EncounterProjection.ToFhir(e, id, subject),
        Document d => DocumentReferenceProjection.ToFhir(d, id, subject),
        DiagnosticReport r => DiagnosticReportProjection.ToFhir(r, id, subject, laboratoryCategory: r.Provenance.DocumentId is not null),
        _ => throw new ArgumentException($"{record?.GetType().Name ?? "null"} has no FHIR projection.", nameof(record)),
    };
}
