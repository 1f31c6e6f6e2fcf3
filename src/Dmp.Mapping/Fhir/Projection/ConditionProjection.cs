using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>A problem or history entry (DG1, PRB, a CDA problem entry) as a FHIR Condition.</summary>
public static class ConditionProjection
{
    public static F.Condition ToFhir(Problem p, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(p);
        var condition = new F.Condition
        {
            Id = id,
            Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            Code = Concept(p.Code),
            RecordedDateElement = ToDateTime(p.RecordedAt),
            Onset = ToDateTime(p.OnsetAt),
            Category =
            [
                new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-category",
                    p.Category is "problem-list-item" or "encounter-diagnosis" ? p.Category : p.Kind == ProblemKind.History ? "problem-list-item" : "encounter-diagnosis"),
            ],
        };
        var clinical = p.ClinicalStatus is "active" or "recurrence" or "relapse" or "inactive" or "remission" or "resolved" ? p.ClinicalStatus
            : p.Kind == ProblemKind.History ? "resolved" : null;
        if (clinical is not null)
            condition.ClinicalStatus = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical);
        return condition;
    }
}
