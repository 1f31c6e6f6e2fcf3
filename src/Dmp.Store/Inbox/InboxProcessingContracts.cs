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
    IReadOnlyList<string> Warnings);

/// <summary>What processing made of a message.</summary>
/// <param name="Status">A processing outcome: processed, ignored, held, refused-by-patient, failed (or rejected).</param>
/// <param name="Warnings">Appended to the message's warnings (existing ones are kept, repeats dropped).</param>
/// <param name="Detail">History detail; defaults to <paramref name="Error"/>.</param>
public sealed record ProcessingResult(
    long Id,
    string Status,
    string? Error = null,
    IReadOnlyList<string>? Warnings = null,
    string? Detail = null);
