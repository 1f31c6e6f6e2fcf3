using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>The Provenance of one message: what it produced, who sent it, when.</summary>
public static class ProvenanceProjection
{
    /// <summary>An HD (`namespace^universal id^type`) as a name: its namespace, else its universal id.</summary>
    private static string? HdName(string? hd)
    {
        if (string.IsNullOrEmpty(hd))
            return null;
        var parts = hd.Split('^');
        return parts[0].Length > 0 ? parts[0] : parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
    }

    /// <summary>An HD's universal id when it is an OID (`^1.2.250…^ISO`), as a URI identifier.</summary>
    private static F.Identifier? HdIdentifier(string? hd)
    {
        var parts = hd?.Split('^');
        return parts is { Length: > 1 } && Generic.PatientReader.IsOid(parts[1]) ? new F.Identifier("urn:ietf:rfc:3986", "urn:oid:" + parts[1]) : null;
    }

    /// <summary>
    /// The Provenance of one message: every resource it produced as targets, recorded at MSH-7 (an instant, never the
    /// clock), the sending application and facility as the agent, the message itself (MSH-10) as the source entity.
    /// </summary>
    public static F.Provenance ToFhir(MessageInfo info, DateTimeOffset recorded, string id, List<F.ResourceReference> targets)
    {
        ArgumentNullException.ThrowIfNull(info);
        var parts = new[] { HdName(info.SendingApplication), HdName(info.SendingFacility) }.Where(p => !string.IsNullOrEmpty(p)).Distinct().ToList();
        var sender = parts.Count > 0 ? string.Join(" / ", parts) : $"unnamed sender (MSH-3 and MSH-4 empty) on {info.Sender.TrimEnd('|', '/')}";
        var type = info.MessageType is null ? "HL7 v2 message" : $"HL7 v2 {info.MessageType}^{info.TriggerEvent} message";
        var provenance = new F.Provenance
        {
            Id = id,
            Target = targets,
            RecordedElement = new F.Instant(recorded),
        };
        provenance.Agent.Add(new F.Provenance.AgentComponent
        {
            Type = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author", null),
            Who = new F.ResourceReference { Display = sender, Identifier = HdIdentifier(info.SendingFacility) ?? HdIdentifier(info.SendingApplication) },
        });
        provenance.Entity.Add(new F.Provenance.EntityComponent
        {
            Role = F.Provenance.ProvenanceEntityRole.Source,
            What = new F.ResourceReference
            {
                Identifier = string.IsNullOrEmpty(info.ControlId) ? null : new F.Identifier { Value = info.ControlId, Type = new F.CodeableConcept { Text = "MSH-10 message control id" } },
                Display = string.IsNullOrEmpty(info.ControlId) ? type + " from " + sender : $"{type} {info.ControlId} from {sender}",
            },
        });
        return provenance;
    }
}
