namespace Dmp.Model;

/// <summary>What the header of an inbound HL7 v2 message says about it.</summary>
public sealed record MessageInfo
{
    public required string Sender { get; init; }
    public string? SendingApplication { get; init; }
    public string? SendingFacility { get; init; }
    public string? ReceivingApplication { get; init; }
    public string? ReceivingFacility { get; init; }
    public string? MessageType { get; init; }
    public string? TriggerEvent { get; init; }
    public string? ControlId { get; init; }
    public string? Version { get; init; }
    public PartialDateTime? SentAt { get; init; }
    public IReadOnlyList<string> Profiles { get; init; } = [];
}
