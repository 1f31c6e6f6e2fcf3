using Dmp.Mapping.Hl7v2;
using Dmp.Model.Apply;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>
/// The HL7 v2 messages that get no ACK: acknowledgements themselves (ACK, the CI-SIS ZAM, MCF), which
/// answering would loop, and messages whose MSH-15 says NE (never). A sender must not wait for one.
/// </summary>
public static class UnansweredMessages
{
    /// <summary>Why no ACK will come for <paramref name="message"/>, or null when one will.</summary>
    public static string? Reason(Hl7Message message) =>
        message.MessageType is { } type && MessageTypes.Acknowledgements.Contains(type) ? $"{type} is an acknowledgement"
        : message.AcceptAckType == "NE" ? "MSH-15 NE"
        : null;
}
