using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>A medication as the FHIR resource of what happened to it: MedicationRequest (prescribed), MedicationDispense (dispensed) or MedicationStatement (reported).</summary>
public static class MedicationProjection
{
    public static F.Resource ToFhir(Medication m, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.Kind == MedicationKind.Reported)
        {
            var statement = new F.MedicationStatement
            {
                Id = id,
                Status = F.MedicationStatement.MedicationStatusCodes.Unknown,
                Medication = Concept(m.Drug) ?? new F.CodeableConcept { Text = "unknown" },
                Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
                Effective = ToDateTime(m.At),
                InformationSource = m.Prescriber is { } source ? PersonRef(source) : null,
            };
            if (m.DosageText is not null || m.Route is not null)
                statement.Dosage.Add(new F.Dosage { Text = m.DosageText, Route = Concept(m.Route) });
            return statement;
        }
        if (m.Kind == MedicationKind.Dispensed)
        {
            var dispense = new F.MedicationDispense
            {
                Id = id,
                Status = F.MedicationDispense.MedicationDispenseStatusCodes.Completed,
                Medication = Concept(m.Drug) ?? new F.CodeableConcept { Text = "unknown" },
                Subject = subject,
                WhenHandedOverElement = ToDateTime(m.At),
                Quantity = m.Quantity is { } q ? new F.Quantity { Value = q, Unit = m.QuantityUnit } : null,
            };
            if (m.Dispenser is { } dispenser)
                dispense.Performer.Add(new F.MedicationDispense.PerformerComponent { Actor = PersonRef(dispenser) });
            // The prescription is not in the Bundle: a logical reference by the order number (ORC-2).
            if (m.OrderId is { } prescription)
                dispense.AuthorizingPrescription.Add(new F.ResourceReference { Type = "MedicationRequest", Identifier = ToIdentifier(prescription) });
            if (m.DosageText is not null || m.Route is not null)
                dispense.DosageInstruction.Add(new F.Dosage { Text = m.DosageText, Route = Concept(m.Route) });
            return dispense;
        }
        var request = new F.MedicationRequest
        {
            Id = id,
            Status = F.MedicationRequest.MedicationrequestStatus.Active,
            Intent = F.MedicationRequest.MedicationRequestIntent.Order,
            Medication = Concept(m.Drug) ?? new F.CodeableConcept { Text = "unknown" },
            Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            AuthoredOnElement = ToDateTime(m.At),
            Requester = m.Prescriber is { } prescriber ? PersonRef(prescriber) : null,
        };
        if (m.OrderId is { } order)
            request.Identifier.Add(ToIdentifier(order));
        if (m.DosageText is not null || m.Route is not null)
            request.DosageInstruction.Add(new F.Dosage { Text = m.DosageText, Route = Concept(m.Route) });
        if (m.Quantity is { } quantity)
            request.DispenseRequest = new F.MedicationRequest.DispenseRequestComponent { Quantity = new F.Quantity { Value = quantity, Unit = m.QuantityUnit } };
        return request;
    }
}
