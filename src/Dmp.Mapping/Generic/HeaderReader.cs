using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Generic;

/// <summary>Reads what every HL7 v2 message says about itself in MSH, and the sender DESIGN.md defines.</summary>
public static class HeaderReader
{
    /// <summary>`channel/MSH-3|MSH-4`, each HD as `namespace^id^type` with trailing empty components dropped.</summary>
    public static string Sender(string channel, Hl7Message message) =>
        $"{channel}/{message.SendingApplication}|{message.SendingFacility}";

    public static MessageInfo Read(string channel, Hl7Message message)
    {
        PartialDateTime? sentAt = null;
        if (message.TryGetSegment("MSH", out var msh) && Hl7DateTime.TryParse(msh.GetField(7), out var ts))
            sentAt = ts.ToPartial();
        // MSH-3 and MSH-4 are read once: they make both the sender and their own fields.
        var application = message.SendingApplication;
        var facility = message.SendingFacility;
        return new MessageInfo
        {
            Sender = $"{channel}/{application}|{facility}",
            SendingApplication = application,
            SendingFacility = facility,
            ReceivingApplication = message.ReceivingApplication,
            ReceivingFacility = message.ReceivingFacility,
            MessageType = message.MessageType,
            TriggerEvent = message.TriggerEvent,
            ControlId = message.ControlId,
            Version = message.Version,
            SentAt = sentAt,
            Profiles = message.ProfileIds,
        };
    }
}
