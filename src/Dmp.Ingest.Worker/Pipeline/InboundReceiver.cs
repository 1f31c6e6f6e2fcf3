using System.Security.Cryptography;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Mapping;
using Dmp.Mapping.Cda;
using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Model.Apply;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Telemetry;
using Dmp.Store;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>What the receiver did with one input: its inbox row, and the ACK to send back (if any).</summary>
public sealed record ReceiveOutcome(long MessageId, bool Duplicate, string Status, byte[]? Ack, string? AckCode, IReadOnlyList<string> Warnings)
{
    /// <summary>For a new rejected row: what kind of refusal, safe to log or write beside a file (never the input's text).</summary>
    public string? Refusal { get; init; }
    /// <summary>The configured sender (MLLP sender or file source) the input was matched to; null when no sender list applies.</summary>
    public string? SenderName { get; init; }
    /// <summary>The message's receive span (default when nobody records traces): the parent of the channel's ACK span.</summary>
    public System.Diagnostics.ActivityContext Trace { get; init; }
}

/// <summary>One input as a channel hands it over.</summary>
public sealed record ReceivedInput(string Channel, ReadOnlyMemory<byte> Bytes, string? RemoteEndpoint = null, string? FileName = null)
{
    /// <summary>The full length when <see cref="Bytes"/> is only a prefix (oversize frame).</summary>
    public long? Length { get; init; }
    /// <summary>SHA-256 of the full input when <see cref="Bytes"/> is only a prefix.</summary>
    public byte[]? Sha256 { get; init; }
    /// <summary>Why the channel already refuses it (oversize, interrupted frame…); null when it does not.</summary>
    public string? RefusedBecause { get; init; }
    /// <summary>
    /// Who may send it: the senders its MLLP connection matched, or its file source. Null: no check, no sender name.
    /// </summary>
    public SenderAuthority? Senders { get; init; }
    /// <summary>Bytes that came outside any MLLP frame: their identity is not read from them and they are never answered.</summary>
    public bool OutsideFrame { get; init; }
}

/// <summary>
/// The door of the inbox, shared by every channel: decides the sender, control id and status of an
/// input, builds its ACK, and hands both to the grouped-commit writer. The ACK goes back only once
/// the row is durable; a resend gets the very ACK stored the first time.
/// </summary>
public sealed class InboundReceiver(StoreLifetime storeLifetime, IOptions<MllpOptions> mllpOptions, ProcessingSignal signal, ProcessedAcknowledger processedAcks,
    TimeProvider time, ILogger<InboundReceiver> logger, GatewayMetrics metrics)
{
    private readonly HashSet<string> _strictSenders = new(mllpOptions.Value.StrictSenders, StringComparer.Ordinal);
    private readonly AckMode _ackMode = mllpOptions.Value.AckMode;

    /// <summary>
    /// A whole file (SFTP source, drop folder): a CDA document is one message; an HL7 v2 file holding a batch
    /// or several messages is split and each message received as on MLLP (sender from its MSH, channel = the
    /// source); anything else is one rejected row. Returns one outcome per stored row, in file order.
    /// </summary>
    public async Task<IReadOnlyList<ReceiveOutcome>> ReceiveFileAsync(ReceivedInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input.FileName);
        if (input.RefusedBecause is not null || InboundMapper.LooksLikeXml(input.Bytes.Span))
            return [await ReceiveAsync(input, cancellationToken)];
        var split = Hl7Batch.Split(input.Bytes);
        if (!split.Success || split.Messages.Count == 0
            || (split.Messages.Count == 1 && split.FileHeader is null && split.BatchHeader is null))
            return [await ReceiveAsync(input, cancellationToken)];
        // Queued in file order so the grouped commit keeps it; awaited together.
        var receives = split.Messages.Select(m => ReceiveAsync(input with { Bytes = m }, cancellationToken)).ToList();
        return await Task.WhenAll(receives);
    }

    public async Task<ReceiveOutcome> ReceiveAsync(ReceivedInput input, CancellationToken cancellationToken)
    {
        if (input.FileName is not null && input.RefusedBecause is null && InboundMapper.LooksLikeXml(input.Bytes.Span))
            return await ReceiveCdaFileAsync(input, cancellationToken);
        using var trace = MessageTracing.StartReceive(input.Channel);
        var sha = input.Sha256 ?? SHA256.HashData(input.Bytes.Span);
        var parsed = Hl7Message.Parse(input.Bytes);
        var message = parsed.Message;
        // A frame that does not parse as a whole (cut off when oversize, a bad segment further on, two
        // messages in one frame) often still starts with a readable MSH: it still names the sender and the
        // control id, so the row has its real identity and the NACK's MSA-2 lets the sender match it.
        var header = input.OutsideFrame ? null : message ?? ReadHeaderOnly(input.Bytes);
        var sender = header is null ? $"{input.Channel}/|" : HeaderReader.Sender(input.Channel, header);
        var messageType = header?.MessageType is { } type ? (header.TriggerEvent is { } trigger ? $"{type}^{trigger}" : type) : null;

        string status;
        string? error = null;
        // For the log: what kind of refusal, never its text (parser errors may quote the frame).
        var refusal = "";
        Hl7Error? hl7Error = null;
        var errorCode = Hl7ErrorCode.ApplicationInternalError;
        if (input.RefusedBecause is { } refused)
        {
            status = InboxStatus.Rejected;
            error = refused;
            refusal = "refused by the listener";
            hl7Error = new Hl7Error(0, null, 0, refused);
            errorCode = Hl7ErrorCode.SegmentSequenceError;
        }
        else if (message is null)
        {
            status = InboxStatus.Rejected;
            hl7Error = parsed.Error ?? new Hl7Error(0, null, 0, "not an HL7 v2 message");
            error = "not HL7 v2: " + hl7Error.Value;
            refusal = "not HL7 v2";
            errorCode = Hl7ErrorCode.SegmentSequenceError;
        }
        else if (string.IsNullOrEmpty(message.MessageType))
        {
            status = InboxStatus.Rejected;
            hl7Error = new Hl7Error(1, "MSH", 9, "message type (MSH-9) is empty");
            error = hl7Error.Value.ToString();
            refusal = "empty MSH-9";
            errorCode = Hl7ErrorCode.RequiredFieldMissing;
        }
        else if (MessageTypes.Acknowledgements.Contains(message.MessageType))
        {
            // Acknowledgements are kept but never acknowledged back.
            status = InboxStatus.Ignored;
        }
        else
        {
            status = InboxStatus.Accepted;
        }

        // Who sent it: a connection no configured sender matches, or a facility (MSH-4.1) its sender may not speak
        // for, is refused whatever the frame holds. The sender refusal comes first in the error; any other reason follows.
        string? senderName = null;
        var ackWhenNotRequested = input.Senders?.AckWhenNotRequested ?? false;
        // Bytes outside a frame are never answered (an answer would be read as the next frame's); nor is a refused
        // acknowledgement (no ACK loop between two engines).
        var unanswered = input.OutsideFrame;
        if (input.Senders is { Checked: true } authority)
        {
            var facility = header?.Get(SendingFacilityId);
            var (matched, senderRefusal) = authority.Unmatched || header is not null ? authority.Authorise(facility) : (authority.First, null);
            senderName = (matched ?? authority.First)?.Name;
            if (matched is not null)
                ackWhenNotRequested = matched.AckWhenNotRequested;
            if (senderRefusal is not null)
            {
                error = error is null ? senderRefusal : $"{senderRefusal}; also: {error}";
                refusal = authority.Unmatched ? "no configured sender matches the connection" : "facility not allowed for the sender";
                hl7Error = authority.Unmatched ? new Hl7Error(0, null, 0, senderRefusal) : new Hl7Error(1, "MSH", 4, senderRefusal);
                errorCode = authority.Unmatched ? Hl7ErrorCode.ApplicationInternalError : Hl7ErrorCode.TableValueNotFound;
                status = InboxStatus.Rejected;
                unanswered |= header?.MessageType is { } headerType && MessageTypes.Acknowledgements.Contains(headerType);
            }
        }

        // A file that names no control id (not HL7, or no MSH-10) is known by its name: the same content under
        // the same file name is the same message (a file taken again after a crash before its move).
        var controlId = header?.ControlId is { Length: > 0 } id ? id : input.FileName is { } file ? FileControlId(file) : header?.ControlId;
        var frame = new InboundFrame(
            input.Channel, sender, controlId, messageType, input.FileName, input.RemoteEndpoint,
            input.Bytes, input.Length ?? input.Bytes.Length, sha, input.Length is { } full && full > input.Bytes.Length, time.GetUtcNow())
        {
            SenderName = senderName,
            TraceId = trace.TraceId,
            TraceParent = trace.TraceParent,
        };

        var waitsForProcessing = processedAcks.Enabled && input.FileName is null && message is not null
            && !MessageTypes.Acknowledgements.Contains(message.MessageType ?? "");
        var strict = _strictSenders.Contains(sender);
        InboxDecision Decide(InboxDecisionContext context)
        {
            var finalStatus = status;
            var finalError = error;
            var warnings = new List<string>();
            var code = errorCode;
            var err = hl7Error;
            if (context.ControlIdReused)
            {
                warnings.Add(InboxWarnings.ControlIdReused);
                if (strict && finalStatus == InboxStatus.Accepted)
                {
                    finalStatus = InboxStatus.Rejected;
                    finalError = $"control id {header!.ControlId} was already used by message {context.PreviousIdWithSameControlId} with other content (strict sender)";
                    err = new Hl7Error(1, "MSH", 10, finalError);
                    code = Hl7ErrorCode.DuplicateKeyIdentifier;
                }
            }
            // AckMode=Processed: an accepted message is answered once processed (below), not at commit.
            var (ack, ackCode) = (waitsForProcessing && finalStatus == InboxStatus.Accepted) || unanswered
                ? (null, null)
                : BuildAck(header, finalStatus, err, code, ackWhenNotRequested);
            return new InboxDecision(finalStatus, finalError, warnings, ack, ackCode);
        }

        metrics.Received(input.Channel, senderName, metrics.Types.Label(messageType));
        InboxReceipt receipt;
        using (MessageTracing.StartCommit())
            receipt = await storeLifetime.Store.Writer.AppendAsync(frame, Decide, cancellationToken);
        trace.Stored(receipt);
        if (!receipt.Duplicate && receipt.Status == InboxStatus.Accepted)
            signal.Arrived();
        Counted(receipt, senderName);
        if (receipt.Duplicate)
            logger.LogInformation("Message {MessageId} from {Sender} received again ({Receipts} receipts): same answer sent", receipt.Id, sender, receipt.Receipts);
        else if (receipt.Status == InboxStatus.Rejected)
            logger.LogWarning("Message {MessageId} from {Sender} on {Channel} rejected ({Refusal}); the reason is kept on the message for operators",
                receipt.Id, sender, input.Channel, refusal.Length > 0 ? refusal : "strict sender, control id reused");
        else
            logger.LogDebug("Message {MessageId} from {Sender} stored as {Status}", receipt.Id, sender, receipt.Status);
        if (waitsForProcessing && receipt.Ack is null && receipt.Status != InboxStatus.Rejected)
        {
            // The first arrival, or a resend that came before the answer was stored.
            var (processedAck, processedCode) = receipt.Status == InboxStatus.Accepted
                ? await processedAcks.AcknowledgeAsync(receipt.Id, message!, cancellationToken)
                : await processedAcks.RecordAsync(receipt.Id, message!, receipt.Status, null, cancellationToken);
            receipt = receipt with { Ack = processedAck, AckCode = processedCode };
        }
        return new ReceiveOutcome(receipt.Id, receipt.Duplicate, receipt.Status, receipt.Ack, receipt.AckCode, receipt.Warnings)
        {
            Refusal = !receipt.Duplicate && receipt.Status == InboxStatus.Rejected ? (refusal.Length > 0 ? refusal : "strict sender, control id reused") : null,
            SenderName = senderName,
            Trace = trace.Context,
        };
    }

    /// <summary>
    /// A CDA document delivered as a file: its sender is the source (DESIGN.md), its control id the file's name,
    /// so the dedup key (sender, control id, SHA-256) is "same source, same file name, same content". No ACK.
    /// The door only checks that it is a ClinicalDocument without a DTD; the CDA reader does the rest when mapping.
    /// </summary>
    private async Task<ReceiveOutcome> ReceiveCdaFileAsync(ReceivedInput input, CancellationToken cancellationToken)
    {
        using var trace = MessageTracing.StartReceive(input.Channel);
        var sha = input.Sha256 ?? SHA256.HashData(input.Bytes.Span);
        var refusal = CdaDoorCheck(input.Bytes);
        var status = refusal is null ? InboxStatus.Accepted : InboxStatus.Rejected;
        var frame = new InboundFrame(
            input.Channel, input.Channel, FileControlId(input.FileName!), CdaMessageType, input.FileName, input.RemoteEndpoint,
            input.Bytes, input.Length ?? input.Bytes.Length, sha, false, time.GetUtcNow())
        {
            // A CDA document names no MSH-4: it is bound by its source's folder, whose name is recorded.
            SenderName = input.Senders?.First?.Name,
            TraceId = trace.TraceId,
            TraceParent = trace.TraceParent,
        };
        metrics.Received(input.Channel, frame.SenderName, MessageTypeLabels.Cda);
        InboxReceipt receipt;
        using (MessageTracing.StartCommit())
            receipt = await storeLifetime.Store.Writer.AppendAsync(
                frame, _ => new InboxDecision(status, refusal is null ? null : "not a CDA document: " + refusal, [], null, null), cancellationToken);
        trace.Stored(receipt);
        if (!receipt.Duplicate && receipt.Status == InboxStatus.Accepted)
            signal.Arrived();
        Counted(receipt, frame.SenderName);
        if (receipt.Duplicate)
            logger.LogInformation("Message {MessageId} from {Sender} received again ({Receipts} receipts): stored once", receipt.Id, input.Channel, receipt.Receipts);
        else if (receipt.Status == InboxStatus.Rejected)
            logger.LogWarning("Message {MessageId} from {Sender} rejected (XML, not a CDA document: {Refusal}); the reason is kept on the message for operators",
                receipt.Id, input.Channel, refusal);
        else
            logger.LogDebug("Message {MessageId} from {Sender} stored as {Status}", receipt.Id, input.Channel, receipt.Status);
        return new ReceiveOutcome(receipt.Id, receipt.Duplicate, receipt.Status, null, null, receipt.Warnings)
        {
            Refusal = !receipt.Duplicate && receipt.Status == InboxStatus.Rejected ? "XML, not a CDA document: " + refusal : null,
            SenderName = frame.SenderName,
            Trace = trace.Context,
        };
    }

    /// <summary>
    /// A new row's door decision in the metrics: rejected and ignored are final there; an accepted one is timed from now
    /// (its ACK leaves once the commit is durable) to its final status. A resend counts as received only.
    /// </summary>
    private void Counted(InboxReceipt receipt, string? senderName)
    {
        if (receipt.Duplicate)
            return;
        if (receipt.Status == InboxStatus.Accepted)
            metrics.Accepted(receipt.Id);
        else
            metrics.Processed(senderName, receipt.Status);
    }

    /// <summary>MSH-4.1, the facility a sender speaks for (parsed once).</summary>
    private static readonly Hl7Path SendingFacilityId = Hl7Path.Parse("MSH-4.1");

    /// <summary>The message type of a CDA document row.</summary>
    public const string CdaMessageType = "CDA";

    /// <summary>A file's control id: its name without the folder (archived or re-dropped, it is the same file).</summary>
    private static string FileControlId(string path)
    {
        var slash = path.LastIndexOfAny(['/', '\\']);
        return slash < 0 ? path : path[(slash + 1)..];
    }

    /// <summary>Null when the root element is an HL7 v3 ClinicalDocument and there is no DTD; else why not (never the input's text).</summary>
    private static string? CdaDoorCheck(ReadOnlyMemory<byte> bytes)
    {
        var root = SafeXml.ReadRoot(bytes);
        if (root.HasDocumentType)
            return "a DTD is not allowed";
        if (root.Error is { } e)
            return $"malformed XML at line {e.LineNumber}, position {e.LinePosition}";
        if (root.LocalName is null)
            return "no root element";
        return root.LocalName == "ClinicalDocument" && root.Namespace == "urn:hl7-org:v3"
            ? null
            : "the root element is not ClinicalDocument in namespace urn:hl7-org:v3";
    }

    private (byte[]? Ack, string? Code) BuildAck(Hl7Message? message, string status, Hl7Error? error, Hl7ErrorCode errorCode, bool ackWhenNotRequested)
    {
        if (status == InboxStatus.Ignored)
            return (null, null);
        var ok = status == InboxStatus.Accepted;
        // AckWhenNotRequested: senders that wait for an answer whatever MSH-15 says get their accept ACK.
        if (message is not null && !ackWhenNotRequested && !AckBuilder.ShouldSendAcceptAck(message, ok))
            return (null, null);
        // AR/CR when the frame itself is refused; AE/CE when a readable message breaks a rule (strict sender).
        var code = AckBuilder.ChooseAccept(message, ok, reject: !ok && errorCode != Hl7ErrorCode.DuplicateKeyIdentifier);
        var options = ok ? AckBuildOptions.Default : new AckBuildOptions { ErrorCode = errorCode };
        var bytes = AckBuilder.Build(message, code, ok ? null : error, ok ? null : error?.Reason, options);
        return (bytes, code.ToString());
    }

    /// <summary>The MSH segment alone, when the frame starts with one that parses; null otherwise.</summary>
    private static Hl7Message? ReadHeaderOnly(ReadOnlyMemory<byte> bytes)
    {
        var span = bytes.Span;
        var start = span.IndexOf("MSH"u8);
        if (start < 0 || !span[..start].Trim(" \t\r\n"u8).IsEmpty)
            return null;
        var end = span[start..].IndexOfAny((byte)'\r', (byte)'\n');
        return Hl7Message.Parse(end < 0 ? bytes[start..] : bytes.Slice(start, end)).Message;
    }

    internal AckMode AckMode => _ackMode;
}
