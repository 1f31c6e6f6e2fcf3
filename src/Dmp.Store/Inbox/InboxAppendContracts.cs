namespace Dmp.Store.Inbox;

/// <summary>One frame as received, with the fields the caller extracted from it (the store parses nothing).</summary>
/// <param name="Raw">The bytes to keep: all of them, or only the first ones of an oversize frame.</param>
/// <param name="Length">Length of the original frame in bytes.</param>
/// <param name="Sha256">SHA-256 of the full original frame (32 bytes).</param>
public sealed record InboundFrame(
    string Channel,
    string Sender,
    string? ControlId,
    string? MessageType,
    string? FileName,
    string? RemoteEndpoint,
    ReadOnlyMemory<byte> Raw,
    long Length,
    byte[] Sha256,
    bool Truncated,
    DateTimeOffset ReceivedAt)
{
    /// <summary>
    /// The configured sender it was matched to (an MLLP sender, a file source); null when no sender list applies.
    /// Not part of its identity: dedup stays on sender, control id and SHA-256.
    /// </summary>
    public string? SenderName { get; init; }

    /// <summary>The message's W3C trace id (32 lower-case hex), drawn by the caller when it arrived; null: none is stored.</summary>
    public string? TraceId { get; init; }

    /// <summary>The receive span as a W3C traceparent, when one was recorded: the processing spans continue the trace under it.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>What the writer knows when asking the caller to decide about a new (not resent) frame.</summary>
public sealed record InboxDecisionContext(InboundFrame Frame, bool ControlIdReused, long? PreviousIdWithSameControlId);

/// <summary>The caller's decision about a new frame: its status, and the ACK sent (stored to answer resends).</summary>
/// <param name="Status"><see cref="InboxStatus.Accepted"/>, <see cref="InboxStatus.Ignored"/> or <see cref="InboxStatus.Rejected"/>.</param>
public sealed record InboxDecision(
    string Status,
    string? Error,
    IReadOnlyList<string> Warnings,
    byte[]? Ack,
    string? AckCode);

/// <summary>The durable outcome of appending a frame; for a resend, the first copy's stored answer.</summary>
public sealed record InboxReceipt(
    long Id,
    bool Duplicate,
    string Status,
    byte[]? Ack,
    string? AckCode,
    int Receipts,
    IReadOnlyList<string> Warnings);
