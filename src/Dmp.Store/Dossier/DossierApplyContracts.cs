using Dmp.Model;

namespace Dmp.Store.Dossier;

/// <summary>
/// What one inbound message brings to the dossier, ready to apply: its mapped messages (one per HL7 v2 message of a
/// batch, or the CDA document), each with its documents' stored bodies and its clinical entries as FHIR JSON. The
/// worker builds it (the store knows neither the mapping nor FHIR); the store applies it in the transaction that
/// records the message's status.
/// </summary>
public sealed record DossierApplyInput(IReadOnlyList<DossierApplyMessage> Messages);

/// <summary>One mapped message to apply.</summary>
/// <param name="Message">The model records; its first patient is the subject of every document and entry.</param>
/// <param name="EventAt">When the event happened: EVN-2, else MSH-7, else when the message was received. Older demographics and choices never overwrite newer ones.</param>
/// <param name="Documents">One per <see cref="MappedMessage.Documents"/>, in the same order.</param>
/// <param name="Entries">The clinical entries (encounters, reports and their results, observations, allergies …).</param>
public sealed record DossierApplyMessage(
    MappedMessage Message,
    DateTimeOffset EventAt,
    IReadOnlyList<DossierApplyDocument> Documents,
    IReadOnlyList<DossierApplyEntry> Entries);

/// <summary>A document and where its body was stored (null when the message carried no content).</summary>
public sealed record DossierApplyDocument(Document Document, DocumentBody? Body);

/// <summary>A document body written to the blob store before the commit.</summary>
/// <param name="Sha256">Lower-case hex.</param>
/// <param name="Sha1">Base64, as FHIR's attachment.hash wants it.</param>
public sealed record DocumentBody(string BlobKey, string Sha256, string Sha1, long Size, string MimeType);

/// <summary>One clinical entry: its natural key, its FHIR R4 JSON (no subject), and the document it came from.</summary>
/// <param name="DocumentIndex">Index in <see cref="DossierApplyMessage.Documents"/> of the document the entry was read from, if any.</param>
/// <param name="RecordedAt">When the source recorded it (the message's time); the newer source's resource is kept.</param>
public sealed record DossierApplyEntry(EntryKey Key, string Resource, int? DocumentIndex, DateTimeOffset RecordedAt);

/// <summary>
/// An entry's identity in the dossier: its kind (the FHIR resource type), the fingerprint of its natural key, and
/// the code and time the API searches by.
/// </summary>
public sealed record EntryKey(string Kind, string Fingerprint, string? Code, string? CodeSystem, DateTimeOffset? EffectiveAt);

/// <summary>What applying a message did: the status it ends in, why, and (held) the identities it waits for.</summary>
/// <param name="Status">processed, held, refused-by-patient or failed (see <see cref="Inbox.InboxStatus"/>).</param>
/// <param name="HeldIdentityKeys">For held: <c>system|value</c> of each identifier of the unqualified patient.</param>
public sealed record DossierApplyOutcome(string Status, string? Error, string Detail, IReadOnlyList<string> HeldIdentityKeys);

/// <summary>An identity merge as recorded (ADT A40, or an IPP-only patient linked to its INS patient).</summary>
public sealed record PatientMergeRow(long MergedPatientId, long SurvivorPatientId, long? InboundMessageId, IReadOnlyList<string> MergedIdentifiers, DateTimeOffset MergedAt);
