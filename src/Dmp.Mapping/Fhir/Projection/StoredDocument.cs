using Dmp.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>
/// A document as the dossier stores it, in the terms the DocumentReference projection needs: the API turns a store
/// row into this (ids as text, instants read), <see cref="DocumentReferenceProjection.FromStored"/> does the rest.
/// </summary>
public sealed record StoredDocument
{
    public required string Id { get; init; }
    public required string PatientId { get; init; }
    /// <summary>The uniqueId as stored: `root` or `root^extension`.</summary>
    public required string UniqueId { get; init; }
    public DocumentStatus Status { get; init; }
    public Code? Type { get; init; }
    public Code? Class { get; init; }
    public string? Title { get; init; }
    /// <summary>DocumentReference.date: the creation time, else the storage time.</summary>
    public DateTimeOffset? Date { get; init; }
    /// <summary>The author's RPPS number as the dossier keeps it (11 digits, or the identifier as the sender wrote it).</summary>
    public string? AuthorRpps { get; init; }
    public string? AuthorFamily { get; init; }
    /// <summary>Given names separated by spaces.</summary>
    public string? AuthorGiven { get; init; }
    /// <summary>The author's organisation: a national structure id (digits) or the facility's own id.</summary>
    public string? AuthorOrganisation { get; init; }
    /// <summary>The HL7 v3 confidentiality code (N, R, V).</summary>
    public string? Confidentiality { get; init; }
    public bool Masked { get; init; }
    public bool HiddenFromPatient { get; init; }
    public string? MimeType { get; init; }
    public string? Language { get; init; }
    public long? Size { get; init; }
    /// <summary>The content's SHA-1 digest (bytes).</summary>
    public byte[]? Sha1 { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public string? FormatCode { get; init; }
    public DateTimeOffset? ServiceStart { get; init; }
    public DateTimeOffset? ServiceStop { get; init; }
    public string? FacilityType { get; init; }
    public string? PracticeSetting { get; init; }
    public string? EventCode { get; init; }
    /// <summary>The dossier id of the document this one replaces.</summary>
    public string? ReplacesId { get; init; }
    /// <summary>Where the API serves the content.</summary>
    public required string ContentUrl { get; init; }
}
