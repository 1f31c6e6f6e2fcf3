using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>An important procedure as a FHIR Procedure.</summary>
public static class ProcedureProjection
{
    public static F.Procedure ToFhir(Procedure p, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(p);
        return new()
        {
            Id = id,
            Status = F.EventStatus.Completed,
            Code = Concept(p.Code),
            Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            Performed = ToDateTime(p.PerformedAt),
        };
    }
}
