using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>An allergy or intolerance (AL1, IAM, a CDA allergy entry) as a FHIR AllergyIntolerance.</summary>
public static class AllergyProjection
{
    public const string ClinicalStatusSystem = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";

    /// <summary>
    /// The clinical status every AllergyIntolerance gets (R4 invariant ait-1: required unless entered in error), by the
    /// rule of the FHIR mapping guides (HL7 v2-to-FHIR AL1/IAM, C-CDA on FHIR): `active` unless the source says the
    /// allergy is `inactive` or `resolved`. A source with no status (AL1, most CDA entries) therefore reads as active:
    /// a sender lists the allergies the patient has.
    /// </summary>
    public static F.CodeableConcept ClinicalStatus(string? status)
    {
        var code = status is "inactive" or "resolved" ? status : "active";
        return new F.CodeableConcept(ClinicalStatusSystem, code, code switch { "inactive" => "Inactive", "resolved" => "Resolved", _ => "Active" }, null);
    }

    public static F.AllergyIntolerance ToFhir(Allergy a, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(a);
        var allergy = new F.AllergyIntolerance
        {
            Id = id,
            Patient = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            ClinicalStatus = ClinicalStatus(a.ClinicalStatus),
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
