using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>A hospital stay (PV1, a CDA encompassingEncounter or encounter entry) as a FHIR Encounter, its PAM movements as an extension.</summary>
public static class EncounterProjection
{
    public static F.Encounter ToFhir(Encounter e, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(e);
        var encounter = new F.Encounter
        {
            Id = id,
            Status = e.Status switch
            {
                "planned" => F.Encounter.EncounterStatus.Planned,
                "arrived" => F.Encounter.EncounterStatus.Arrived,
                "in-progress" => F.Encounter.EncounterStatus.InProgress,
                "finished" => F.Encounter.EncounterStatus.Finished,
                "cancelled" => F.Encounter.EncounterStatus.Cancelled,
                "entered-in-error" => F.Encounter.EncounterStatus.EnteredInError,
                _ => F.Encounter.EncounterStatus.Unknown,
            },
            Class = e.Class is { } c ? new F.Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", c) : new F.Coding("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK"),
            Subject = subject,
        };
        if (e.Id is { } identifier)
            encounter.Identifier.Add(ToIdentifier(identifier));
        var start = ToDateTime(e.Start);
        var end = ToDateTime(e.End);
        if (start is not null || end is not null)
            encounter.Period = new F.Period { StartElement = start, EndElement = end };
        if (e.Attending is { } attending)
        {
            encounter.Participant.Add(new F.Encounter.ParticipantComponent
            {
                Type = [new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND")],
                Individual = PersonRef(attending),
            });
        }
        foreach (var movement in e.Movements)
        {
            var ext = new F.Extension { Url = DmpFhir.MovementExtension };
            if (movement.Id is { } mid)
                ext.Extension.Add(new F.Extension("identifier", ToIdentifier(mid)));
            if (ToDateTime(movement.At) is { } at)
                ext.Extension.Add(new F.Extension("date", at));
            if (movement.Action is { } action)
                ext.Extension.Add(new F.Extension("action", new F.Code(action)));
            if (movement.Event is { } ev)
                ext.Extension.Add(new F.Extension("event", new F.Code(ev)));
            if (movement.Historic is { } historic)
                ext.Extension.Add(new F.Extension("historic", new F.FhirBoolean(historic)));
            if (movement.MedicalUnit is { } unit)
                ext.Extension.Add(new F.Extension("medicalUnit", new F.FhirString(unit)));
            if (movement.Mode is { } mode)
                ext.Extension.Add(new F.Extension("mode", new F.Code(mode)));
            if (ext.Extension.Count > 0)
                encounter.Extension.Add(ext);
        }
        if (e.Location is { } location)
            encounter.ServiceType = new F.CodeableConcept { Text = location };
        return encounter;
    }
}
