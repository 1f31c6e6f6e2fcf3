namespace Dmp.Store.Dossier;

/// <summary>A patient as stored (<c>patient</c>).</summary>
public sealed record PatientRecord
{
    public long Id { get; init; }
    public string? Ins { get; init; }
    public string? InsSystem { get; init; }
    public string? IdentityStatus { get; init; }
    public string? Family { get; init; }
    public string? Given { get; init; }
    public string? BirthName { get; init; }
    public string? BirthDate { get; init; }
    public string? Sex { get; init; }
    public string? BirthPlace { get; init; }
    /// <summary>The event time (EVN-2, else MSH-7) of the stored demographics: an older update does not overwrite them.</summary>
    public string? DemographicsAt { get; init; }
    public long? MergedInto { get; init; }
    public string UpdatedAt { get; init; } = "";
}

/// <summary>A dossier's state and, for one professional, what authorises them.</summary>
public sealed record DossierFacts
{
    public long PatientId { get; init; }
    public string Status { get; init; } = DossierStatuses.Open;
    public bool OpposesEmergency { get; init; }
    public string? TreatingRpps { get; init; }
    public string? ClosedAt { get; init; }
    public long AuthorisedCount { get; init; }
    public long OrganisationConsentCount { get; init; }

    public bool IsOpen => Status == DossierStatuses.Open;

    /// <summary>The patient authorised the professional asked about ($authorize).</summary>
    public bool ProfessionalAuthorised => AuthorisedCount > 0;

    /// <summary>The organisation asked about recorded the patient's consent to consultation (ZFA-11 = IC).</summary>
    public bool OrganisationConsents => OrganisationConsentCount > 0;
}

/// <summary>The values of <c>dossier.status</c>.</summary>
public static class DossierStatuses
{
    public const string Open = "open";
    public const string Closed = "closed";
}

/// <summary>The values of <c>document.status</c>.</summary>
public static class DocumentStatuses
{
    public const string Current = "current";
    public const string Superseded = "superseded";
    public const string Deleted = "deleted";
}

/// <summary>A document's metadata as stored (<c>document</c>), with its sort key (creation time, else storage time).</summary>
public sealed record DocumentRow
{
    public long Id { get; init; }
    public long PatientId { get; init; }
    public string UniqueId { get; init; } = "";
    public string? SetId { get; init; }
    public long? Version { get; init; }
    public long? ReplacesId { get; init; }
    public long? ReplacedById { get; init; }
    public string Status { get; init; } = DocumentStatuses.Current;
    public string? TypeCode { get; init; }
    public string? TypeSystem { get; init; }
    public string? TypeDisplay { get; init; }
    public string? ClassCode { get; init; }
    public string? ClassSystem { get; init; }
    public string? ClassDisplay { get; init; }
    public string? Title { get; init; }
    public string? CreatedAt { get; init; }
    public string? ServiceStart { get; init; }
    public string? ServiceStop { get; init; }
    public string? AuthorRpps { get; init; }
    public string? AuthorFamily { get; init; }
    public string? AuthorGiven { get; init; }
    public string? AuthorRole { get; init; }
    public string? AuthorOrg { get; init; }
    public string? Facility { get; init; }
    public string? Setting { get; init; }
    public string? EventCode { get; init; }
    public string? Confidentiality { get; init; }
    public string? Language { get; init; }
    public string? MimeType { get; init; }
    public string? FormatCode { get; init; }
    public long? Size { get; init; }
    public string? Sha256 { get; init; }
    public string? Sha1 { get; init; }
    public string? BlobKey { get; init; }
    public bool Masked { get; init; }
    public bool HiddenFromPatient { get; init; }
    public string? HiddenUntil { get; init; }
    public string StoredAt { get; init; } = "";
    public string UpdatedAt { get; init; } = "";
    public string SortKey { get; init; } = "";
}

/// <summary>A clinical entry as stored (<c>entry</c>): its FHIR JSON and what indexes it.</summary>
public sealed record EntryRow
{
    public long Id { get; init; }

    /// <summary>The id the API serves the entry by (random, see <c>EntryIds</c>); the row id stays inside the store.</summary>
    public string PublicId { get; init; } = "";
    public long PatientId { get; init; }
    public string Kind { get; init; } = "";
    public string? Code { get; init; }
    public string? CodeSystem { get; init; }
    public string? EffectiveAt { get; init; }
    public long? DocumentId { get; init; }
    public string Resource { get; init; } = "";
    public string RecordedAt { get; init; } = "";
    public string UpdatedAt { get; init; } = "";
    public string SortKey { get; init; } = "";
}
