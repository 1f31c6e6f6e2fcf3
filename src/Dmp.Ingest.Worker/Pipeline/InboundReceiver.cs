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
        var sender = message is null ? $"{input.Channel}/|" : HeaderReader.Sender(input.Channel, message);
        var messageType = message?.MessageType is { } type ? (message.TriggerEvent is { } trigger ? $"{type}^{trigger}" : type) : null;

        string status;
        string? error = null;
        Hl7Error? hl7Error = null;
        var errorCode = Hl7ErrorCode.ApplicationInternalError;
        if (input.RefusedBecause is { } refused)
        {
            status = InboxStatus.Rejected;
            error = refused;
            hl7Error = new Hl7Error(0, null, 0, refused);
            errorCode = Hl7ErrorCode.SegmentSequenceError;
        }
        else if (message is null)
        {
            status = InboxStatus.Rejected;
            hl7Error = parsed.Error ?? new Hl7Error(0, null, 0, "not an HL7 v2 message");
            error = "not HL7 v2: " + hl7Error.Value;
            errorCode = Hl7ErrorCode.SegmentSequenceError;
        }
        else if (string.IsNullOrEmpty(message.MessageType))
        {
            status = InboxStatus.Rejected;
            hl7Error = new Hl7Error(1, "MSH", 9, "message type (MSH-9) is empty");
            error = hl7Error.Value.ToString();
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
            input.Channel, sender, message?.ControlId, messageType, input.FileName, input.RemoteEndpoint,
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
                    finalError = $"control id {message!.ControlId} was already used by message {context.PreviousIdWithSameControlId} with other content (strict sender)";
                    err = new Hl7Error(1, "MSH", 10, finalError);
                    code = Hl7ErrorCode.DuplicateKeyIdentifier;
                }
            }
            var (ack, ackCode) = BuildAck(message, finalStatus, err, code);
            return new InboxDecision(finalStatus, finalError, warnings, ack, ackCode);
        }

        var receipt = await holder.Store.Writer.AppendAsync(frame, Decide, cancellationToken);
        if (!receipt.Duplicate && receipt.Status == InboxStatus.Accepted)
            signal.Pulse();
        if (receipt.Duplicate)
            logger.LogInformation("Message {MessageId} from {Sender} received again ({Receipts} receipts): same answer sent", receipt.Id, sender, receipt.Receipts);
        else if (receipt.Status == InboxStatus.Rejected)
            logger.LogWarning("Message {MessageId} from {Sender} on {Channel} rejected: {Reason}", receipt.Id, sender, input.Channel, SafeReason(error));
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

    /// <summary>Error texts come from our parser and name positions, never field values; cap their length anyway.</summary>
    private static string? SafeReason(string? reason) => reason is { Length: > 200 } ? reason[..200] + "…" : reason;

    internal AckMode AckMode => _ackMode;
}
