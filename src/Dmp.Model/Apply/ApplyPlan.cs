namespace Dmp.Model.Apply;

/// <summary>
/// What one inbound message brings to the dossier, ready to apply: its mapped messages (one per HL7 v2 message of a
/// batch, or the CDA document), each with its documents' stored bodies, its clinical entries as FHIR JSON, and what
/// its admission needs. Built by the mapping (the store knows neither the mapping nor FHIR); the store applies it in
/// the transaction that records the message's status.
/// </summary>
public sealed record ApplyPlan(IReadOnlyList<MessagePlan> Messages)
{
    /// <summary>The documents of every message, in order, each once.</summary>
    public IEnumerable<DocumentPlan> Documents => Messages.SelectMany(m => m.Documents);

    /// <summary>The same plan with each document's stored body (<paramref name="bodies"/> in <see cref="Documents"/> order).</summary>
    public ApplyPlan WithBodies(IReadOnlyList<DocumentBody?> bodies)
    {
        ArgumentNullException.ThrowIfNull(bodies);
        var count = Messages.Sum(m => m.Documents.Count);
        if (count != bodies.Count)
            throw new ArgumentException($"{bodies.Count} bodies for {count} documents.", nameof(bodies));
        var next = 0;
        return new ApplyPlan(Messages.Select(m => m with { Documents = m.Documents.Select(d => d with { Body = bodies[next++] }).ToList() }).ToList());
    }
}

/// <summary>One mapped message to apply.</summary>
/// <param name="Message">The model records; its first patient is the subject of every document and entry.</param>
/// <param name="EventAt">When the event happened: EVN-2, else MSH-7, else when the message was received. Older demographics and choices never overwrite newer ones.</param>
/// <param name="Documents">One per <see cref="MappedMessage.Documents"/>, in the same order.</param>
/// <param name="Entries">The clinical entries (encounters, reports and their results, observations, allergies …).</param>
/// <param name="Admission">What entering the dossier needs (see <see cref="Apply.Admission"/>).</param>
public sealed record MessagePlan(
    MappedMessage Message,
    DateTimeOffset EventAt,
    IReadOnlyList<DocumentPlan> Documents,
    IReadOnlyList<EntryPlan> Entries,
    Admission Admission)
{
    /// <summary>A message's plan, its admission read from its content.</summary>
    public static MessagePlan Of(MappedMessage message, DateTimeOffset eventAt, IReadOnlyList<DocumentPlan> documents, IReadOnlyList<EntryPlan> entries) =>
        new(message, eventAt, documents, entries, Admission.Of(message, documents, entries));
}

/// <summary>A document and where its body was stored (null until written, or when the message carried no content).</summary>
public sealed record DocumentPlan(Document Document, DocumentBody? Body = null)
{
    /// <summary>The dossier's key of its uniqueId (<see cref="DocumentKey.DossierForm"/>).</summary>
    public string? UniqueId => DocumentKey.DossierForm(Document.UniqueId);

    /// <summary>The dossier's key of its setId.</summary>
    public string? SetId => DocumentKey.DossierForm(Document.SetId);
}

/// <summary>A document body written to the blob store before the commit.</summary>
/// <param name="Sha256">Lower-case hex.</param>
/// <param name="Sha1">Base64, as FHIR's attachment.hash wants it.</param>
public sealed record DocumentBody(string BlobKey, string Sha256, string Sha1, long Size, string MimeType);

/// <summary>One clinical entry: its natural key, its FHIR R4 JSON (no subject), and the document it came from.</summary>
/// <param name="DocumentIndex">Index in <see cref="MessagePlan.Documents"/> of the document the entry was read from, if any.</param>
/// <param name="RecordedAt">When the source recorded it (the message's time); the newer source's resource is kept.</param>
public sealed record EntryPlan(EntryKey Key, string Resource, int? DocumentIndex, DateTimeOffset RecordedAt);

/// <summary>
/// An entry's identity in the dossier: its kind (the FHIR resource type), the fingerprint of its natural key, and
/// the code and time the API searches by.
/// </summary>
public sealed record EntryKey(string Kind, string Fingerprint, string? Code, string? CodeSystem, DateTimeOffset? EffectiveAt);

/// <summary>Partial date-times as instants, the same for the entries' keys and the dossier's columns.</summary>
public static class PartialInstant
{
    /// <summary>A partial date-time as a UTC instant (date-only values at midnight UTC).</summary>
    public static DateTimeOffset? Of(PartialDateTime? value)
    {
        if (value is null)
            return null;
        var local = DateTime.SpecifyKind(value.Value, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, value.Precision > DateTimePrecision.Day ? value.Offset ?? TimeSpan.Zero : TimeSpan.Zero);
    }
}
