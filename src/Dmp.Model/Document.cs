namespace Dmp.Model;

/// <summary>What a message asks for a document: a new one, a new version replacing its parent, or a deletion.</summary>
public enum DocumentAction { New, Replace, Delete }

/// <summary>XDS availability: a replaced document is superseded, a deleted one deleted — never erased.</summary>
public enum DocumentStatus { Current, Superseded, Deleted }

/// <summary>A professional or organisation acting on a record: an identifier (RPPS, FINESS …), a name and a role.</summary>
public sealed record Practitioner(Identifier? Id, string? Family, string? Given, string? Role = null);

/// <summary>Who may see a document (MetaDMPMSS visibility flags; null when the sender did not say).</summary>
public sealed record DocumentVisibility
{
    /// <summary>MASQUE_PS: masked to professionals.</summary>
    public bool? MaskedToProfessionals { get; init; }
    /// <summary>INVISIBLE_PATIENT: hidden from the patient until the announcement consultation.</summary>
    public bool? HiddenFromPatient { get; init; }
    /// <summary>INVISIBLE_REP_LEGAUX (1.2: INVISIBLE_REPRESENTANTS_LEGAUX): hidden from legal representatives.</summary>
    public bool? HiddenFromLegalRepresentatives { get; init; }
    /// <summary>CONNEXION_SECRETE.</summary>
    public bool? SecretConnection { get; init; }
    /// <summary>MODIF_CONF_CODE (1.2: MODIF_CONFIDENTIALITYCODE): the message changes an existing document's confidentiality.</summary>
    public bool? ChangesConfidentiality { get; init; }
}

/// <summary>The DMP's visibility codes (value set JDV_J08), as securityLabel codes and as the store's filters name them.</summary>
public static class VisibilityCodes
{
    /// <summary>Masked to professionals.</summary>
    public const string MaskedToProfessionals = "MASQUE_PS";
    /// <summary>Hidden from the patient until the announcement consultation.</summary>
    public const string HiddenFromPatient = "INVISIBLE_PATIENT";
    /// <summary>Hidden from the patient's legal representatives.</summary>
    public const string HiddenFromLegalRepresentatives = "INVISIBLE_REPRESENTANTS_LEGAUX";
}

/// <summary>Where a document goes (MetaDMPMSS routing flags).</summary>
public sealed record DocumentRouting
{
    /// <summary>DESTDMP: publish to the DMP.</summary>
    public bool? ToDmp { get; init; }
    public bool? ToProfessionalMailbox { get; init; }
    public bool? ToPatientMailbox { get; init; }
    public bool? AskReceptionAck { get; init; }
    public bool? AskReadAck { get; init; }
    public string? ProfessionalMailBody { get; init; }
    public string? PatientMailBody { get; init; }
}

/// <summary>A document with its XDS-style metadata, as the DMP stores it.</summary>
public sealed record Document
{
    /// <summary>XDS uniqueId (CDA ClinicalDocument/id, TXA-12).</summary>
    public Identifier? UniqueId { get; init; }
    public Identifier? SetId { get; init; }
    public int? Version { get; init; }
    /// <summary>The parent documents this version replaces (TXA-13, CDA relatedDocument RPLC).</summary>
    public IReadOnlyList<Identifier> Replaces { get; init; } = [];
    public Code? TypeCode { get; init; }
    public Code? ClassCode { get; init; }
    public string? Title { get; init; }
    public PartialDateTime? CreatedAt { get; init; }
    public PartialDateTime? ServiceStart { get; init; }
    public PartialDateTime? ServiceStop { get; init; }
    public Practitioner? Author { get; init; }
    /// <summary>The author's organisation (FINESS with OID 1.2.250.1.71.4.2.2).</summary>
    public Identifier? AuthorOrganisation { get; init; }
    public string? SourceFacility { get; init; }
    /// <summary>The organisation keeping the original (CDA custodian).</summary>
    public Identifier? Custodian { get; init; }
    public string? CustodianName { get; init; }
    /// <summary>Who validated the document (CDA legalAuthenticator).</summary>
    public Practitioner? LegalAuthenticator { get; init; }
    /// <summary>What was done (CDA documentationOf/serviceEvent code).</summary>
    public Code? ServiceEvent { get; init; }
    /// <summary>Documents this one appends to (CDA relatedDocument APND).</summary>
    public IReadOnlyList<Identifier> Appends { get; init; } = [];
    /// <summary>Documents this one transforms (CDA relatedDocument XFRM).</summary>
    public IReadOnlyList<Identifier> Transforms { get; init; } = [];
    public Code? Confidentiality { get; init; }
    public string? Language { get; init; }
    public DocumentVisibility Visibility { get; init; } = new();
    public DocumentRouting Routing { get; init; } = new();
    public string? MimeType { get; init; }
    public string? FormatCode { get; init; }
    public long? Size { get; init; }
    /// <summary>SHA-256 of the content, lower-case hex.</summary>
    public string? Sha256 { get; init; }
    /// <summary>The content itself when the message carried it (the store swaps it for a blob reference).</summary>
    public ReadOnlyMemory<byte>? Content { get; init; }
    public string? BlobReference { get; init; }
    public DocumentAction Action { get; init; }
    public DocumentStatus Status { get; init; }
    /// <summary>True when the author validated the document (TXA-17 `AU`/`LA`, a CDA legal authenticator, OBX-11 `F`).</summary>
    public bool? ValidatedByAuthor { get; init; }
    /// <summary>A validated document becomes current in the dossier; an unvalidated one is held until its validated version arrives.</summary>
    public bool IsValidated => ValidatedByAuthor == true;
    public required Provenance Provenance { get; init; }
}
