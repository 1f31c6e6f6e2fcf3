namespace Dmp.Store.Inbox;

/// <summary>The status of an inbound message (see DESIGN.md, "Inbound messages").</summary>
public static class InboxStatus
{
    public const string Accepted = "accepted";
    public const string Processed = "processed";
    public const string Ignored = "ignored";
    public const string Held = "held";
    public const string RefusedByPatient = "refused-by-patient";
    public const string Failed = "failed";
    public const string Rejected = "rejected";

    public static IReadOnlyList<string> All { get; } =
        [Accepted, Processed, Ignored, Held, RefusedByPatient, Failed, Rejected];

    /// <summary>What the door may decide for a new frame.</summary>
    public static bool IsArrivalStatus(string? status) => status is Accepted or Ignored or Rejected;

    /// <summary>What processing may leave a message in.</summary>
    public static bool IsProcessingOutcome(string? status) =>
        status is Processed or Ignored or Held or RefusedByPatient or Failed or Rejected;

    /// <summary>Statuses from which an operator may ask for a replay.</summary>
    public static bool IsReplayable(string? status) => status is Failed or Held or Processed or Ignored;
}

/// <summary>Warning codes the inbox itself records.</summary>
public static class InboxWarnings
{
    /// <summary>The sender already sent different bytes under the same control id (MSH-10).</summary>
    public const string ControlIdReused = "control-id-reused";
}

/// <summary>Details the inbox writes in the processing history besides status changes.</summary>
public static class InboxHistoryDetail
{
    public const string Received = "received";
    public const string Resent = "resent";
    public const string ReplayRequested = "replay requested";

    /// <summary>Why a held draft became <c>ignored</c> when the validated version arrived in message <paramref name="messageId"/>.</summary>
    public static string SupersededBy(long messageId) =>
        $"superseded by the validated version in message {messageId.ToString(System.Globalization.CultureInfo.InvariantCulture)}; never entered the dossier";
}
