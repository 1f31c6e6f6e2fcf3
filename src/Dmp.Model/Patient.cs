namespace Dmp.Model;

/// <summary>A patient as the DMP knows them: INS first, local identifiers per facility, names and demographics.</summary>
public sealed record Patient
{
    /// <summary>The national health identifier (INS), when the message carries one.</summary>
    public Identifier? Ins { get; init; }

    /// <summary>Identity reliability as sent (PID-32 in PAM France: VIDE, PROV, VALI, DOUT, FICT, QUAL …).</summary>
    public string? IdentityStatus { get; init; }

    /// <summary>Local identifiers (IPP and others) with their assigning authority.</summary>
    public IReadOnlyList<Identifier> LocalIdentifiers { get; init; } = [];

    public IReadOnlyList<PersonName> Names { get; init; } = [];
    public PartialDateTime? BirthDate { get; init; }

    /// <summary>Administrative sex as HL7 table 0001 gives it (F, M, U, O, A, N).</summary>
    public string? Sex { get; init; }

    public string? BirthPlace { get; init; }
    public IReadOnlyList<Address> Addresses { get; init; } = [];
    public bool? Deceased { get; init; }
    public PartialDateTime? DeceasedAt { get; init; }

    /// <summary>How the identity was checked (PAM France ZFD: the demographic complement, not DMP consent).</summary>
    public IdentityCheck? IdentityCheck { get; init; }

    /// <summary>True when the identity may carry the INS into the DMP (qualified identity).</summary>
    public bool IsQualified => Ins is not null && IdentityStatus is "VALI" or "QUAL";
}

/// <summary>A person's name; <see cref="Use"/> is HL7 table 0200 (L legal/birth, D used/display, …).</summary>
public sealed record PersonName(string? Family, IReadOnlyList<string> Given, string? Prefix, string? Suffix, string? Use);

/// <summary>A postal address.</summary>
public sealed record Address(IReadOnlyList<string> Lines, string? City, string? PostalCode, string? Country, string? Use);

/// <summary>PAM France ZFD: how the identity was obtained and checked, the INSi query date, SMS consent.</summary>
public sealed record IdentityCheck(string? Mode, PartialDateTime? InsiQueriedAt, string? EvidenceType, bool? SmsConsent);
