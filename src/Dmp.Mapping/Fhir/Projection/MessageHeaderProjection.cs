using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>An inbound message's header (MSH) as a FHIR MessageHeader: its event, source, destination and focus.</summary>
public static class MessageHeaderProjection
{
    public static F.MessageHeader ToFhir(MessageInfo info, string id, IEnumerable<F.ResourceReference> focus)
    {
        ArgumentNullException.ThrowIfNull(info);
        var header = new F.MessageHeader
        {
            Id = id,
            Event = new F.Coding("http://terminology.hl7.org/CodeSystem/v2-0003", info.TriggerEvent ?? "unknown",
                info.MessageType is null ? null : $"{info.MessageType}^{info.TriggerEvent}"),
            Source = new F.MessageHeader.MessageSourceComponent
            {
                Name = info.SendingApplication,
                Endpoint = "urn:dmp-ingest:sender:" + Uri.EscapeDataString(info.Sender),
            },
            Focus = focus.ToList(),
        };
        if (info.ReceivingApplication is not null || info.ReceivingFacility is not null)
        {
            header.Destination.Add(new F.MessageHeader.MessageDestinationComponent
            {
                Name = info.ReceivingApplication,
                Endpoint = "urn:dmp-ingest:receiver:" + Uri.EscapeDataString($"{info.ReceivingApplication}|{info.ReceivingFacility}"),
            });
        }
        return header;
    }
}
