namespace Dmp.Model.Apply;

/// <summary>What the store found for a message's patient: none, one without an INS, one with its INS (qualified).</summary>
public enum StoredIdentity { Unknown, Unqualified, Qualified }

/// <summary>Whether, and how, a message enters the dossier.</summary>
public enum AdmissionVerdict
{
    /// <summary>Its documents and entries enter the dossier (or it brings none).</summary>
    Apply,
    /// <summary>An ADT's stays, for a patient whose identity is not qualified: not stored, the ADT still processed.</summary>
    StaysNotQualified,
    /// <summary>An ADT's stays, for a patient who opposes feeding from their source: not stored, the ADT still processed.</summary>
    StaysOpposed,
    /// <summary>A document flagged DESTDMP = N: refused, nothing enters.</summary>
    NotForDmp,
    /// <summary>Clinical content without a patient: failed.</summary>
    NoPatient,
    /// <summary>The patient opposes feeding from the message's organisation (ZFA-9 = IO): refused by the patient.</summary>
    Opposed,
    /// <summary>The patient's identity is not qualified yet: held under <see cref="Admission.IdentityKeys"/>.</summary>
    HeldForIdentity,
}

/// <summary>
/// What a message asks of the dossier and what its entry depends on: the gates (DESTDMP, opposition to feeding,
/// qualified identity) as far as the message itself decides them. The stored facts — does the patient exist with its
/// INS, did one of <see cref="FeedingOrganisations"/> record an opposition — come from the store, which calls
/// <see cref="Decide"/> with them.
/// </summary>
/// <param name="IsAdt">An identity feed: it creates patients and updates demographics, and its stays never hold or refuse it.</param>
/// <param name="Clinical">It brings documents or clinical entries (not only an ADT's stays).</param>
/// <param name="HasEntries">It brings entries (for an ADT: its stays).</param>
/// <param name="NotForDmp">The dossier key of the first document flagged DESTDMP = N (<c>(no id)</c> without one), else null.</param>
/// <param name="NamesPatient">It names a patient (its first patient is the subject).</param>
/// <param name="ChoicesOrganisation">The organisation its facility choices (ZFA) are recorded under, see <see cref="OrganisationKey"/>.</param>
/// <param name="FeedingOrganisations">The organisations its content comes from, whose opposition to feeding refuses it.</param>
/// <param name="IdentityKeys">The keys it is held under while the identity is not qualified: local identifiers, then the INS.</param>
public sealed record Admission(
    bool IsAdt,
    bool Clinical,
    bool HasEntries,
    string? NotForDmp,
    bool NamesPatient,
    string? ChoicesOrganisation,
    IReadOnlyList<string> FeedingOrganisations,
    IReadOnlyList<HeldKey> IdentityKeys)
{
    /// <summary>The FHIR resource type of an ADT's stays, which are part of the identity feed.</summary>
    public const string StayKind = "Encounter";

    /// <summary>Reads what a message asks from its content.</summary>
    public static Admission Of(MappedMessage message, IReadOnlyList<DocumentPlan> documents, IReadOnlyList<EntryPlan> entries)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(entries);
        var isAdt = message.Info.MessageType == "ADT";
        var subject = message.Patients.Count > 0 ? message.Patients[0] : null;
        var clinical = documents.Count > 0 || entries.Any(e => !(isAdt && e.Key.Kind == StayKind));
        var notForDmp = documents.FirstOrDefault(d => d.Document.Routing.ToDmp == false) is { } refused ? refused.UniqueId ?? "(no id)" : null;
        var organisation = OrganisationKey(message.Info.SendingFacility);
        return new Admission(isAdt, clinical, entries.Count > 0, notForDmp, subject is not null, organisation,
            OrganisationsOf(documents, organisation), subject is null ? [] : IdentityKeysOf(subject));
    }

    /// <summary>Whether <see cref="Decide"/> needs to know if one of <see cref="FeedingOrganisations"/> opposes feeding.</summary>
    public bool DependsOnOpposition(StoredIdentity identity) => Clinical
        ? NotForDmp is null && NamesPatient && identity != StoredIdentity.Unknown
        : HasEntries && identity == StoredIdentity.Qualified;

    /// <summary>
    /// The verdict, given the stored facts: the patient the store resolved (<paramref name="identity"/>) and the first
    /// feeding organisation whose recorded choice opposes feeding (<paramref name="opposedBy"/>, asked only when
    /// <see cref="DependsOnOpposition"/>).
    /// </summary>
    public AdmissionVerdict Decide(StoredIdentity identity, string? opposedBy)
    {
        if (!Clinical)
        {
            if (!HasEntries)
                return AdmissionVerdict.Apply;
            if (identity != StoredIdentity.Qualified)
                return AdmissionVerdict.StaysNotQualified;
            return opposedBy is null ? AdmissionVerdict.Apply : AdmissionVerdict.StaysOpposed;
        }

        if (NotForDmp is not null)
            return AdmissionVerdict.NotForDmp;
        if (!NamesPatient)
            return AdmissionVerdict.NoPatient;
        if (identity != StoredIdentity.Unknown && opposedBy is not null)
            return AdmissionVerdict.Opposed;
        return identity == StoredIdentity.Qualified ? AdmissionVerdict.Apply : AdmissionVerdict.HeldForIdentity;
    }

    /// <summary>
    /// The organisation a facility's choices are recorded under: the sending facility (MSH-4) as DESIGN.md's sender key
    /// writes an HD — <c>namespace^id^type</c> with trailing empty components dropped (e.g. <c>CHU-X</c>). A professional
    /// token's <c>org</c> claim is compared with this value (ZFA-11 consent to consultation).
    /// </summary>
    public static string? OrganisationKey(string? sendingFacility)
    {
        if (string.IsNullOrWhiteSpace(sendingFacility))
            return null;
        return sendingFacility.TrimEnd('^');
    }

    /// <summary>
    /// The organisation keys a message's content comes from: MSH-4 (HL7 v2) and, for documents, the author's
    /// organisation and the custodian (their structure ids; a CDA file has no MSH).
    /// </summary>
    private static List<string> OrganisationsOf(IReadOnlyList<DocumentPlan> documents, string? sendingFacility)
    {
        var keys = new List<string>();
        if (sendingFacility is not null)
            keys.Add(sendingFacility);
        foreach (var d in documents)
        {
            if (d.Document.AuthorOrganisation?.Value is { Length: > 0 } author)
                keys.Add(author);
            if (d.Document.Custodian?.Value is { Length: > 0 } custodian)
                keys.Add(custodian);
        }

        return keys.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The keys a held message waits under: its patient's local identifiers and INS.</summary>
    private static List<HeldKey> IdentityKeysOf(Patient subject)
    {
        var keys = subject.LocalIdentifiers.Select(id => HeldKey.Identity(id.System, id.Value)).ToList();
        if (subject.Ins is { } ins)
            keys.Add(HeldKey.Identity(ins.System, ins.Value));
        return keys;
    }
}
