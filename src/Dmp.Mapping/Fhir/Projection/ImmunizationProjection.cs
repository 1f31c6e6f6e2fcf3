using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>A vaccination (RXA, a CDA immunization entry) as a FHIR Immunization.</summary>
public static class ImmunizationProjection
{
    public static F.Immunization ToFhir(Immunization i, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(i);
        return new()
        {
            Id = id,
            Status = i.Status switch
            {
                "entered-in-error" => F.Immunization.ImmunizationStatusCodes.EnteredInError,
                "not-done" => F.Immunization.ImmunizationStatusCodes.NotDone,
                _ => F.Immunization.ImmunizationStatusCodes.Completed,
            },
            VaccineCode = Concept(i.Vaccine) ?? new F.CodeableConcept { Text = "unknown" },
            Patient = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            Occurrence = (F.DataType?)ToDateTime(i.OccurredAt) ?? new F.FhirString("unknown"),
            LotNumber = i.LotNumber,
            DoseQuantity = i.Dose is { } dose ? new F.Quantity { Value = dose, Unit = i.DoseUnit } : null,
        };
    }
}
