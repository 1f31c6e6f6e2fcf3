namespace Dmp.Store.Audit;

// The words an audit event is written with. They are stored in audit_event and hashed into its chain
// (AuditChain's canonical form), so a value here never changes once events carry it.

/// <summary>What was done, as <c>audit_event.action</c> stores it.</summary>
public static class AuditActions
{
    public const string Read = "read";
    public const string Search = "search";
    public const string Retrieve = "retrieve";
    public const string Deposit = "deposit";
    public const string Update = "update";
    public const string Patch = "patch";
    public const string Mask = "mask";
    public const string Unmask = "unmask";
    public const string Unhide = "unhide";
    public const string Delete = "delete";
    public const string Close = "close";
    public const string Reopen = "reopen";
    public const string Authorize = "authorize";
    public const string Revoke = "revoke";
    public const string OpposeEmergency = "oppose-emergency";
    public const string AllowEmergency = "allow-emergency";

    /// <summary>An operator read the raw bytes of an inbound message.</summary>
    public const string RawRead = "raw-read";

    /// <summary>An operator put inbound messages back in the queue (a bulk replay of a selection).</summary>
    public const string Replay = "replay";

    /// <summary>An operator put the rule files on disk in force (`POST /api/rules/reload`), or tried and was refused.</summary>
    public const string RulesReload = "rules-reload";

    /// <summary>True for an action that only reads (FHIR AuditEvent action R).</summary>
    public static bool IsRead(string action) => action is Read or Search or Retrieve or RawRead;
}

/// <summary>How it ended, as <c>audit_event.outcome</c> stores it.</summary>
public static class AuditOutcomes
{
    public const string Success = "success";
    public const string Denied = "denied";
    public const string NotFound = "not-found";
    /// <summary>The request reached the dossier but its body was refused (not the resource the operation takes, not JSON).</summary>
    public const string Invalid = "invalid";
}

/// <summary>Who acted, as <c>audit_event.agent_kind</c> stores it.</summary>
public static class AuditAgentKinds
{
    public const string Patient = "patient";
    public const string Professional = "professional";
    public const string Operator = "operator";

    /// <summary>The gateway itself, applying a sender's message (the agent id is the sender).</summary>
    public const string System = "system";
}

/// <summary>What the event is about, as <c>audit_event.entity_type</c> stores it (FHIR resource names, and the inbox's messages).</summary>
public static class AuditEntityTypes
{
    public const string Patient = "Patient";
    public const string DocumentReference = "DocumentReference";
    public const string AuditEvent = "AuditEvent";
    public const string InboundMessage = "InboundMessage";
    public const string RuleSet = "RuleSet";
}

/// <summary>Why access was given, as <c>audit_event.purpose_of_use</c> stores it.</summary>
public static class AuditPurposes
{
    /// <summary>Emergency access ("break the glass").</summary>
    public const string BreakGlass = "BTG";
}
