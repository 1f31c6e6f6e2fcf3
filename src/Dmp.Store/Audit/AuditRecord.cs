namespace Dmp.Store.Audit;

/// <summary>
/// One audit event to append: who did what to which record, with what outcome and why.
/// <paramref name="PatientId"/> names the dossier whose chain it joins; null chains it under <see cref="AuditChain.OperatorChain"/>.
/// </summary>
/// <param name="AgentKind">One of <see cref="AuditAgentKinds"/>.</param>
/// <param name="AgentId">The INS, RPPS, operator subject, or the sender for deposits.</param>
/// <param name="Action">One of <see cref="AuditActions"/>.</param>
/// <param name="EntityType">One of <see cref="AuditEntityTypes"/> (or another FHIR resource type searched).</param>
/// <param name="Outcome">One of <see cref="AuditOutcomes"/>.</param>
/// <param name="PurposeOfUse"><see cref="AuditPurposes.BreakGlass"/> for emergency access.</param>
public sealed record AuditRecord(
    long? PatientId,
    string AgentKind,
    string? AgentId,
    string? AgentRole,
    string Action,
    string? EntityType,
    string? EntityId,
    string Outcome,
    string? PurposeOfUse = null,
    string? Reason = null,
    string? Detail = null);

/// <summary>A stored audit event, as read back.</summary>
public sealed record AuditEventRow
{
    public long Id { get; init; }
    public string Chain { get; init; } = "";
    public long Seq { get; init; }
    public string At { get; init; } = "";
    public long? PatientId { get; init; }
    public string AgentKind { get; init; } = "";
    public string? AgentId { get; init; }
    public string? AgentRole { get; init; }
    public string Action { get; init; } = "";
    public string? EntityType { get; init; }
    public string? EntityId { get; init; }
    public string Outcome { get; init; } = "";
    public string? PurposeOfUse { get; init; }
    public string? Reason { get; init; }
    public string? Detail { get; init; }
    public byte[] PrevHash { get; init; } = [];
    public byte[] Hash { get; init; } = [];
}

/// <summary>Where a chain first breaks: its name, the event's sequence number and id, and why.</summary>
public sealed record AuditBreak(string Chain, long Seq, long? EventId, string Reason);

/// <summary>The result of walking every chain: how many events were checked and the breaks found.</summary>
public sealed record AuditVerification(long Chains, long Events, IReadOnlyList<AuditBreak> Breaks)
{
    public bool Intact => Breaks.Count == 0;
}
