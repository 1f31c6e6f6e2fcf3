namespace Dmp.Store.Inbox;

/// <summary>Which inbound messages to list; null members do not filter.</summary>
public sealed record InboxFilter
{
    public string? Sender { get; init; }
    public string? ControlId { get; init; }
    public string? Status { get; init; }

    /// <summary>Only messages first received at or after this instant.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only messages first received before this instant.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>
    /// Only messages about a patient known by this identifier value (INS or local): messages that named it (PID-3 or
    /// the CDA's recordTarget, whatever their outcome, see <c>message_patient</c>), and messages that fed the patient
    /// who has that identifier now (documents and entries, which follow A40 merges) or named another identifier of theirs.
    /// </summary>
    public string? PatientValue { get; init; }

    /// <summary>With <see cref="PatientValue"/>: the identifier's system (OID or assigning authority); null matches any system.</summary>
    public string? PatientSystem { get; init; }

    /// <summary>
    /// Only messages of this type: a message code alone (<c>ADT</c>: any ADT event) or code and event (<c>ADT^A01</c>:
    /// exactly that), as stored from MSH-9 (<c>CDA</c> for a document file).
    /// </summary>
    public string? Type { get; init; }

    /// <summary>Only messages that brought a document with this uniqueId or setId (its dossier form, <c>root^extension</c> or the root).</summary>
    public string? Document { get; init; }
}

/// <summary>How many messages of a selection are in each status; every status of <see cref="InboxStatus.All"/> is present.</summary>
public sealed record InboxStats(IReadOnlyDictionary<string, long> ByStatus)
{
    public long Total => ByStatus.Values.Sum();
}

/// <summary>What an inbound message fed: its patients, documents and entries (as they are now: a merge moves them).</summary>
public sealed record MessageProducts(IReadOnlyList<long> Patients, IReadOnlyList<ProducedDocument> Documents, IReadOnlyList<ProducedEntry> Entries)
{
    /// <summary>The identifiers those patients are known by now (INS and local ones), in patient then kind order.</summary>
    public IReadOnlyList<ProducedIdentifier> Identifiers { get; init; } = [];
}

/// <summary>An identifier of a patient a message fed: <c>ins</c> or <c>local</c>, its system and value.</summary>
public sealed record ProducedIdentifier(long PatientId, string Kind, string System, string Value);

/// <summary>A document a message brought: its row id and uniqueId (dossier form).</summary>
public sealed record ProducedDocument(long Id, string UniqueId);

/// <summary>An entry a message brought: its FHIR type and public id.</summary>
public sealed record ProducedEntry(string Type, string PublicId);

/// <summary>A sender's recent traffic: its last message (ever) and its messages per status over the window asked.</summary>
/// <param name="Name">The configured sender's name; null for traffic matched to no configured sender.</param>
/// <param name="Channel">With no name: the channel and sender the messages say (<c>inbound_message.sender</c>).</param>
public sealed record SenderTraffic(string? Name, string? Channel, string? Sender, DateTimeOffset? LastReceivedAt, IReadOnlyDictionary<string, long> ByStatus);

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
