namespace Dmp.Store.Inbox;

/// <summary>The columns of <c>inbound_message</c> as read by Dapper, before conversion.</summary>
internal sealed class InboundMessageRow
{
    public const string SummaryColumns =
        """
        id AS Id, channel AS Channel, sender AS Sender, control_id AS ControlId, message_type AS MessageType,
        file_name AS FileName, remote_endpoint AS RemoteEndpoint, status AS Status, warnings AS Warnings,
        error AS Error, received_at AS ReceivedAt, last_received_at AS LastReceivedAt, receipts AS Receipts,
        ack_code AS AckCode, sha256 AS Sha256, length AS Length, truncated AS Truncated, raw_purged_at AS RawPurgedAt,
        sender_name AS SenderName, trace_id AS TraceId
        """;

    public long Id { get; set; }
    public string Channel { get; set; } = "";
    public string Sender { get; set; } = "";
    public string ControlId { get; set; } = "";
    public string? MessageType { get; set; }
    public string? FileName { get; set; }
    public string? RemoteEndpoint { get; set; }
    public string Status { get; set; } = "";
    public string? Warnings { get; set; }
    public string? Error { get; set; }
    public string ReceivedAt { get; set; } = "";
    public string LastReceivedAt { get; set; } = "";
    public long Receipts { get; set; }
    public string? AckCode { get; set; }
    public byte[] Sha256 { get; set; } = [];
    public long Length { get; set; }
    public object Truncated { get; set; } = false;
    public string? RawPurgedAt { get; set; }
    public string? SenderName { get; set; }
    public string? TraceId { get; set; }

    public InboundMessageSummary ToSummary() => new(
        Id,
        Channel,
        Sender,
        ControlId.Length == 0 ? null : ControlId,
        MessageType,
        FileName,
        RemoteEndpoint,
        Status,
        WarningList.Parse(Warnings),
        Error,
        StoreTime.Read(ReceivedAt),
        StoreTime.Read(LastReceivedAt),
        checked((int)Receipts),
        AckCode,
        Convert.ToHexStringLower(Sha256),
        Length,
        Convert.ToBoolean(Truncated, System.Globalization.CultureInfo.InvariantCulture),
        RawPurgedAt is null ? null : StoreTime.Read(RawPurgedAt),
        SenderName,
        TraceId);
}
