namespace Dmp.Model;

/// <summary>Where a record came from: the inbound message (or document) and the sender.</summary>
public sealed record Provenance(string Sender, string? ControlId, string? MessageType, DateTimeOffset? RecordedAt, string? DocumentId = null);
