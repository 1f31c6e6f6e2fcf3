using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>An allergy or intolerance (AL1, IAM, a CDA allergy entry) as a FHIR AllergyIntolerance.</summary>
public static class AllergyProjection
{
    public static F.AllergyIntolerance ToFhir(Allergy a, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(a);
        var allergy = new F.AllergyIntolerance
        {
            Id = id,
            Patient = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            Code = Concept(a.Substance),
            Type = a.Type switch { "allergy" => F.AllergyIntolerance.AllergyIntoleranceType.Allergy, "intolerance" => F.AllergyIntolerance.AllergyIntoleranceType.Intolerance, _ => null },
            Criticality = a.Criticality switch
            {
                "low" => F.AllergyIntolerance.AllergyIntoleranceCriticality.Low,
                "high" => F.AllergyIntolerance.AllergyIntoleranceCriticality.High,
                "unable-to-assess" => F.AllergyIntolerance.AllergyIntoleranceCriticality.UnableToAssess,
                _ => null,
            },
            RecordedDateElement = ToDateTime(a.IdentifiedAt),
        };
        F.AllergyIntolerance.AllergyIntoleranceCategory? category = a.Category switch
        {
            "food" => F.AllergyIntolerance.AllergyIntoleranceCategory.Food,
            "medication" => F.AllergyIntolerance.AllergyIntoleranceCategory.Medication,
            "environment" => F.AllergyIntolerance.AllergyIntoleranceCategory.Environment,
            "biologic" => F.AllergyIntolerance.AllergyIntoleranceCategory.Biologic,
            _ => null,
        };
        if (category is not null)
            allergy.Category = [category];
        if (a.Reaction is { } reaction)
            allergy.Reaction.Add(new F.AllergyIntolerance.ReactionComponent { Manifestation = [new F.CodeableConcept { Text = reaction }] });
        return allergy;
    }
}
