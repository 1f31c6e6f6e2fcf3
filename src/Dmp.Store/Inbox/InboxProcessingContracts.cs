using Dmp.Model.Apply;

namespace Dmp.Store.Inbox;

/// <summary>An accepted message handed to the processing worker, with its stored bytes.</summary>
public sealed record PendingMessage(
    long Id,
    string Channel,
    string Sender,
    string? ControlId,
    string? MessageType,
    string? FileName,
    string? RemoteEndpoint,
    byte[] Raw,
    long Length,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<string> Warnings)
{
    /// <summary>The message's W3C trace id (32 lower-case hex); null for one stored before trace ids were kept.</summary>
    public string? TraceId { get; init; }

    /// <summary>Its receive span as a W3C traceparent, when that span was recorded; null otherwise.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The configured sender (MLLP sender or file source) the door matched; null when none (metrics say `unknown`).</summary>
    public string? SenderName { get; init; }
}

/// <summary>What processing made of a message.</summary>
/// <param name="Status">A processing outcome: processed, ignored, held, refused-by-patient, failed (or rejected).</param>
/// <param name="Warnings">Appended to the message's warnings (existing ones are kept, repeats dropped).</param>
/// <param name="Detail">History detail; defaults to <paramref name="Error"/>.</param>
/// <param name="HeldDocumentKeys">
/// For a <c>held</c> outcome: the keys of the unvalidated document(s) the message carries
/// (<see cref="HeldKey.UniqueId"/>, <see cref="HeldKey.SetId"/>); a validated version naming one releases it.
/// </param>
/// <param name="ValidatedDocumentKeys">
/// The keys a validated document releases: its own set key and the identifiers it replaces. Other
/// messages <c>held</c> under one of them become <c>ignored</c> (superseded), in the same transaction.
/// </param>
/// <param name="Apply">
/// For a <c>processed</c> outcome: what to apply to the dossier, in the same transaction (under a savepoint of its
/// own). The apply decides the final status: processed, held (identity not qualified), refused-by-patient or failed.
/// </param>
public sealed record ProcessingResult(
    long Id,
    string Status,
    string? Error = null,
    IReadOnlyList<string>? Warnings = null,
    string? Detail = null,
    IReadOnlyList<HeldKey>? HeldDocumentKeys = null,
    IReadOnlyList<HeldKey>? ValidatedDocumentKeys = null,
    ApplyPlan? Apply = null)
{
    /// <summary>
    /// The patient identifiers (INS and local ones) the message named, whatever its outcome, for the operators' search
    /// (<c>message_patient</c>): written with the outcome, replacing what an earlier processing wrote; null when they
    /// could not be read (what was written before is kept).
    /// </summary>
    public IReadOnlyList<Dmp.Model.Identifier>? NamedPatients { get; init; }
}
