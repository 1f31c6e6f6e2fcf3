namespace Dmp.Model;

/// <summary>
/// Where a record came from: the inbound message (or document) and the sender. <see cref="RecordedAt"/> is MSH-7 as an instant:
/// with the sender's offset, or, when MSH-7 has none, the rule's zone (UTC by default); null when MSH-7 has no time.
/// </summary>
public sealed record Provenance(string Sender, string? ControlId, string? MessageType, DateTimeOffset? RecordedAt, string? DocumentId = null);
