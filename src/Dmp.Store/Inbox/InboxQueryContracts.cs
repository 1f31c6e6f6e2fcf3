namespace Dmp.Store.Inbox;

/// <summary>Which inbound messages to list; null members do not filter.</summary>
public sealed record InboxFilter
{
    public string? Sender { get; init; }
    public string? ControlId { get; init; }
    public string? Status { get; init; }

    /// <summary>Only messages first received at or after this instant.</summary>
    public DateTimeOffset? Since { get; init; }
}

/// <summary>One page of inbound messages, newest first; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record InboxPage(IReadOnlyList<InboundMessageSummary> Items, string? NextCursor);

/// <summary>An inbound message as the operator API shows it (no raw bytes).</summary>
/// <param name="RawPurgedAt">When retention dropped its raw bytes (the row, hash and ACK stay); null while they are kept.</param>
/// <param name="SenderName">The configured sender (`Dmp:Mllp:Senders:N:Name`, or the file source) it came from; null when none applies.</param>
/// <param name="TraceId">Its W3C trace id (32 lower-case hex); null for a message stored before trace ids were kept.</param>
public sealed record InboundMessageSummary(
    long Id,
    string Channel,
    string Sender,
    string? ControlId,
    string? MessageType,
    string? FileName,
    string? RemoteEndpoint,
    string Status,
    IReadOnlyList<string> Warnings,
    string? Error,
    DateTimeOffset ReceivedAt,
    DateTimeOffset LastReceivedAt,
    int Receipts,
    string? AckCode,
    string Sha256Hex,
    long Length,
    bool Truncated,
    DateTimeOffset? RawPurgedAt = null,
    string? SenderName = null,
    string? TraceId = null);

/// <summary>One line of an inbound message's processing history.</summary>
public sealed record HistoryEntry(DateTimeOffset At, string Status, string? Detail);

/// <summary>An inbound message with its processing history, oldest line first.</summary>
public sealed record InboundMessageDetail(InboundMessageSummary Message, IReadOnlyList<HistoryEntry> History);

/// <summary>The stored trace of an inbound message: its W3C trace id and, when its receive span was recorded, that span's traceparent.</summary>
public sealed record MessageTraceIds
{
    public long MessageId { get; init; }
    public string TraceId { get; init; } = "";
    public string? TraceParent { get; init; }
}
