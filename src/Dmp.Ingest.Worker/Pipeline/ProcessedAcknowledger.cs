using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Mapping.Hl7v2;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>
/// `Dmp:Mllp:AckMode=Processed`: the ACK of an accepted message waits for its mapping and its apply to
/// the dossier — the worker completes the wait only with the final status, after the transaction that
/// applied it committed. AA when the message was stored and understood (processed, ignored, held for a
/// draft or an unqualified identity, refused by the patient: the message itself is fine, and a resend
/// would change nothing), AE with an ERR saying why when it failed. The ACK is stored with the message,
/// so a resend gets these very bytes.
/// </summary>
public sealed class ProcessedAcknowledger(StoreLifetime storeLifetime, ProcessingCompletions completions, IOptions<MllpOptions> options, ILogger<ProcessedAcknowledger> logger)
{
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(Math.Max(1, options.Value.ProcessedAckTimeoutSeconds));

    public bool Enabled => completions.Enabled;

    /// <summary>The ACK for a stored message that has none yet (accepted in Processed mode, or a resend that came first).</summary>
    public async Task<(byte[]? Ack, string? Code)> AcknowledgeAsync(long messageId, Hl7Message header, CancellationToken cancellationToken)
    {
        var result = await completions.WaitAsync(messageId, _timeout, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            logger.LogWarning("Message {MessageId} not processed within {Seconds} s (Dmp:Mllp:ProcessedAckTimeoutSeconds): no ACK sent; a resend will be answered once it is", messageId, _timeout.TotalSeconds);
            return (null, null);
        }
        return await RecordAsync(messageId, header, result.Status, result.Error, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds and stores the application ACK for a message whose processing outcome is known.</summary>
    public async Task<(byte[]? Ack, string? Code)> RecordAsync(long messageId, Hl7Message header, string status, string? error, CancellationToken cancellationToken)
    {
        var ok = status != InboxStatus.Failed;
        var code = AckBuilder.ChooseApplication(ok);
        var ack = ok
            ? AckBuilder.Build(header, code)
            : AckBuilder.Build(header, code, new Hl7Error(0, null, 0, error ?? "processing failed"), error ?? "processing failed",
                new AckBuildOptions { ErrorCode = Hl7ErrorCode.ApplicationInternalError });
        await storeLifetime.Store.Processing.RecordAckAsync(messageId, ack, code.ToString(), cancellationToken).ConfigureAwait(false);
        return (ack, code.ToString());
    }
}
