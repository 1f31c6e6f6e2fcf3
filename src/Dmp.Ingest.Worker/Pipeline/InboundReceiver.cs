using System.Security.Cryptography;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Store;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>What the receiver did with one input: its inbox row, and the ACK to send back (if any).</summary>
public sealed record ReceiveOutcome(long MessageId, bool Duplicate, string Status, byte[]? Ack, string? AckCode, IReadOnlyList<string> Warnings);

/// <summary>One input as a channel hands it over.</summary>
public sealed record ReceivedInput(string Channel, ReadOnlyMemory<byte> Bytes, string? RemoteEndpoint = null, string? FileName = null)
{
    /// <summary>The full length when <see cref="Bytes"/> is only a prefix (oversize frame).</summary>
    public long? Length { get; init; }
    /// <summary>SHA-256 of the full input when <see cref="Bytes"/> is only a prefix.</summary>
    public byte[]? Sha256 { get; init; }
    /// <summary>Why the channel already refuses it (oversize, interrupted frame…); null when it does not.</summary>
    public string? RefusedBecause { get; init; }
}

/// <summary>
/// The door of the inbox, shared by every channel: decides the sender, control id and status of an
/// input, builds its ACK, and hands both to the grouped-commit writer. The ACK goes back only once
/// the row is durable; a resend gets the very ACK stored the first time.
/// </summary>
public sealed class InboundReceiver(StoreHolder holder, IOptions<MllpOptions> mllpOptions, ProcessingSignal signal, ILogger<InboundReceiver> logger)
{
    private static readonly HashSet<string> AcknowledgementTypes = new(StringComparer.Ordinal) { "ACK", "ZAM", "MCF" };
    private readonly HashSet<string> _strictSenders = new(mllpOptions.Value.StrictSenders, StringComparer.Ordinal);
    private readonly AckMode _ackMode = mllpOptions.Value.AckMode;

    public async Task<ReceiveOutcome> ReceiveAsync(ReceivedInput input, CancellationToken cancellationToken)
    {
        var sha = input.Sha256 ?? SHA256.HashData(input.Bytes.Span);
        var parsed = Hl7Message.Parse(input.Bytes);
        var message = parsed.Message;
        // A frame that does not parse as a whole (cut off when oversize, a bad segment further on, two
        // messages in one frame) often still starts with a readable MSH: it still names the sender and the
        // control id, so the row has its real identity and the NACK's MSA-2 lets the sender match it.
        var header = message ?? ReadHeaderOnly(input.Bytes);
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
        else if (AcknowledgementTypes.Contains(message.MessageType))
        {
            // Acknowledgements are kept but never acknowledged back.
            status = InboxStatus.Ignored;
        }
        else
        {
            status = InboxStatus.Accepted;
        }

        var frame = new InboundFrame(
            input.Channel, sender, header?.ControlId, messageType, input.FileName, input.RemoteEndpoint,
            input.Bytes, input.Length ?? input.Bytes.Length, sha, input.Length is { } full && full > input.Bytes.Length, DateTimeOffset.UtcNow);

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
            var (ack, ackCode) = BuildAck(header, finalStatus, err, code);
            return new InboxDecision(finalStatus, finalError, warnings, ack, ackCode);
        }

        var receipt = await holder.Store.Writer.AppendAsync(frame, Decide, cancellationToken);
        if (!receipt.Duplicate && receipt.Status == InboxStatus.Accepted)
            signal.Pulse();
        if (receipt.Duplicate)
            logger.LogInformation("Message {MessageId} from {Sender} received again ({Receipts} receipts): same answer sent", receipt.Id, sender, receipt.Receipts);
        else if (receipt.Status == InboxStatus.Rejected)
            logger.LogWarning("Message {MessageId} from {Sender} on {Channel} rejected ({Refusal}); the reason is kept on the message for operators",
                receipt.Id, sender, input.Channel, refusal.Length > 0 ? refusal : "strict sender, control id reused");
        else
            logger.LogDebug("Message {MessageId} from {Sender} stored as {Status}", receipt.Id, sender, receipt.Status);
        return new ReceiveOutcome(receipt.Id, receipt.Duplicate, receipt.Status, receipt.Ack, receipt.AckCode, receipt.Warnings);
    }

    private (byte[]? Ack, string? Code) BuildAck(Hl7Message? message, string status, Hl7Error? error, Hl7ErrorCode errorCode)
    {
        if (status == InboxStatus.Ignored)
            return (null, null);
        var ok = status == InboxStatus.Accepted;
        if (message is not null && !AckBuilder.ShouldSendAcceptAck(message, ok))
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
