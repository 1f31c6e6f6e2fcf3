using System.Security.Cryptography;
using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>
/// A document and its XDS metadata as a FHIR DocumentReference shaped as ANS's PDSm (IHE MHD for the DMP), in its three
/// forms: what an HL7 v2 message says (<see cref="ToFhir"/>), what a CDA document's header says (<see cref="FromCda"/>),
/// and what the dossier stores and the API serves (<see cref="FromStored"/>). Status, visibility labels, identifiers and
/// the author's RPPS are written the same way in each.
/// </summary>
public static class DocumentReferenceProjection
{
    /// <summary>A document as a message carries it: its metadata, its content inline, what the message asks (action, routing).</summary>
    public static F.DocumentReference ToFhir(Document d, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(d);
        var reference = new F.DocumentReference
        {
            Id = id,
            Status = Status(d.Status),
            Type = Concept(d.TypeCode),
            Subject = subject,
            Description = d.Title,
        };
        // Validated by its author: final; known not to be (a draft): preliminary, which the store holds.
        if (d.ValidatedByAuthor is { } validated)
            reference.DocStatus = validated ? F.CompositionStatus.Final : F.CompositionStatus.Preliminary;
        if (d.UniqueId is { } uid)
            reference.MasterIdentifier = MasterIdentifier(uid);
        if (Concept(d.ClassCode) is { } category)
            reference.Category.Add(category);
        if (d.Author is { } author)
            reference.Author.Add(PersonRef(author));
        if (d.AuthorOrganisation is { } org)
            reference.Author.Add(new F.ResourceReference { Identifier = ToIdentifier(org) });
        if (Concept(d.Confidentiality) is { } confidentiality)
            reference.SecurityLabel.Add(confidentiality);
        AddVisibility(reference, d.Visibility.MaskedToProfessionals == true, d.Visibility.HiddenFromPatient == true, d.Visibility.HiddenFromLegalRepresentatives == true);
        foreach (var parent in d.Replaces)
        {
            reference.RelatesTo.Add(new F.DocumentReference.RelatesToComponent
            {
                Code = F.DocumentRelationshipType.Replaces,
                Target = new F.ResourceReference { Identifier = MasterIdentifier(parent) },
            });
        }
        var content = d.Content ?? ReadOnlyMemory<byte>.Empty;
        var attachment = new F.Attachment
        {
            ContentType = d.MimeType,
            Language = d.Language,
            Data = content.Length > 0 ? content.ToArray() : null,
            // R4 `size` is unsignedInt: set the element (the `Size` shortcut writes an R5 integer64 string).
            SizeElement = d.Size is { } size ? new F.UnsignedInt((int)size) : null,
            Hash = SHA1.HashData(content.Span),
            Title = d.Title,
            CreationElement = ToDateTime(d.CreatedAt),
        };
        reference.Content.Add(new F.DocumentReference.ContentComponent { Attachment = attachment });
        var start = ToDateTime(d.ServiceStart);
        var stop = ToDateTime(d.ServiceStop);
        if (start is not null || stop is not null)
            reference.Context = new F.DocumentReference.ContextComponent { Period = new F.Period { StartElement = start, EndElement = stop } };
        reference.Extension.Add(new F.Extension(DmpFhir.DocumentActionExtension, new F.Code(d.Action switch { DocumentAction.Replace => "replace", DocumentAction.Delete => "delete", _ => "new" })));
        var routing = new F.Extension { Url = DmpFhir.RoutingExtension };
        AddFlag(routing, "destDmp", d.Routing.ToDmp);
        AddFlag(routing, "destMssProfessional", d.Routing.ToProfessionalMailbox);
        AddFlag(routing, "destMssPatient", d.Routing.ToPatientMailbox);
        AddFlag(routing, "ackReception", d.Routing.AskReceptionAck);
        AddFlag(routing, "ackRead", d.Routing.AskReadAck);
        AddFlag(routing, "secretConnection", d.Visibility.SecretConnection);
        AddFlag(routing, "changesConfidentiality", d.Visibility.ChangesConfidentiality);
        if (routing.Extension.Count > 0)
            reference.Extension.Add(routing);
        return reference;
    }

    private static void AddFlag(F.Extension parent, string name, bool? value)
    {
        if (value is { } v)
            parent.Extension.Add(new F.Extension(name, new F.FhirBoolean(v)));
    }

    /// <summary>XDS uniqueId as PDSm writes it: `root^extension` → system urn:oid:root, value extension; a bare OID → urn:ietf:rfc:3986.</summary>
    public static F.Identifier MasterIdentifier(Identifier id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.System.Length > 0)
            return new F.Identifier(RootUri(id.System), id.Value);
        if (Generic.PatientReader.IsOid(id.Value))
            return new F.Identifier("urn:ietf:rfc:3986", "urn:oid:" + id.Value);
        return new F.Identifier { Value = id.Value };
    }

    /// <summary>
    /// A CDA document as its header describes it: identifiers by their II roots, the set id, authors, authenticator and
    /// custodian as logical references, the related documents, and as content the nonXMLBody (else the CDA itself).
    /// <paramref name="title"/> is the header's own title; <paramref name="encounters"/> the Encounters the Bundle holds for
    /// the document, the first being the header's stay when <paramref name="firstIsStay"/>.
    /// </summary>
    public static F.DocumentReference FromCda(Document d, string? title, CdaNonXmlBody? nonXml, ReadOnlySpan<byte> cda, string id,
        F.ResourceReference? subject, IReadOnlyList<F.ResourceReference> encounters, bool firstIsStay)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(encounters);
        var reference = new F.DocumentReference
        {
            Id = id,
            Status = F.DocumentReferenceStatus.Current,
            // The validated signal: final once legally authenticated, preliminary (held) otherwise.
            DocStatus = d.IsValidated ? F.CompositionStatus.Final : F.CompositionStatus.Preliminary,
            Subject = subject,
            Description = title,
        };
        if (d.UniqueId is { } uid)
            reference.MasterIdentifier = new F.Identifier(RootUri(uid.System), uid.Value);
        if (d.SetId is { } setId)
            reference.Identifier.Add(new F.Identifier(RootUri(setId.System), setId.Value) { Use = F.Identifier.IdentifierUse.Secondary });
        if (d.TypeCode is { } type)
            reference.Type = new F.CodeableConcept(CodeSystems.Uri(type.System), type.Value, type.Display, null);
        if (Concept(d.ClassCode) is { } category)
            reference.Category.Add(category);
        if (d.Author is { } author)
            reference.Author.Add(Logical(author.Id, author));
        if (d.AuthorOrganisation is not null || d.SourceFacility is not null)
            reference.Author.Add(Logical(d.AuthorOrganisation, null, d.SourceFacility));
        if (d.LegalAuthenticator is { } authenticator && Logical(authenticator.Id, authenticator) is { } signer && (signer.Identifier is not null || signer.Display is not null))
            reference.Authenticator = signer;
        if (d.Custodian is not null || d.CustodianName is not null)
            reference.Custodian = Logical(d.Custodian, null, d.CustodianName);
        if (d.Confidentiality is { } conf)
            reference.SecurityLabel.Add(new F.CodeableConcept(CodeSystems.Uri(conf.System), conf.Value));
        AddRelations(reference, d.Replaces, F.DocumentRelationshipType.Replaces);
        AddRelations(reference, d.Appends, F.DocumentRelationshipType.Appends);
        AddRelations(reference, d.Transforms, F.DocumentRelationshipType.Transforms);

        var created = ToDateTime(d.CreatedAt);
        var attachment = nonXml is not null
            ? new F.Attachment
            {
                ContentType = nonXml.MediaType,
                Language = d.Language,
                Data = nonXml.Content,
                SizeElement = new F.UnsignedInt(nonXml.Content.Length),
                Hash = SHA1.HashData(nonXml.Content),
                Title = title,
                CreationElement = created,
            }
            : new F.Attachment
            {
                ContentType = "text/xml",
                Language = d.Language,
                // R4 `size` is unsignedInt: set the element (the `Size` shortcut makes an R5 integer64, written as a string).
                SizeElement = new F.UnsignedInt(cda.Length),
                Hash = SHA1.HashData(cda),
                Title = title,
                CreationElement = created,
            };
        var content = new F.DocumentReference.ContentComponent { Attachment = attachment };
        // An XDS-SD CDA states its format (PDF or text); written as the stored form writes it, a bare code.
        if (d.FormatCode is { } format)
            content.Format = new F.Coding(null, format);
        reference.Content.Add(content);

        var start = ToDateTime(d.ServiceStart);
        var stop = ToDateTime(d.ServiceStop);
        // A context only when it holds something (an empty one breaks ele-1): a service period, the stay, the service event.
        var context = new F.DocumentReference.ContextComponent();
        if (start is not null || stop is not null)
            context.Period = new F.Period { StartElement = start, EndElement = stop };
        if (firstIsStay && encounters.Count > 0)
            context.Encounter.Add(new F.ResourceReference(encounters[0].Reference));
        if (Concept(d.ServiceEvent) is { } serviceEvent)
            context.Event.Add(serviceEvent);
        if (context.Period is not null || context.Encounter.Count > 0 || context.Event.Count > 0)
            reference.Context = context;
        return reference;
    }

    /// <summary>
    /// A document as the dossier stores it: the author as a contained Practitioner with their RPPS, the organisation as
    /// custodian, the content by URL with its stored SHA-1, the replaced document by its dossier id.
    /// </summary>
    public static F.DocumentReference FromStored(StoredDocument d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var reference = new F.DocumentReference
        {
            Id = d.Id,
            MasterIdentifier = StoredMasterIdentifier(d.UniqueId),
            Status = Status(d.Status),
            Subject = new F.ResourceReference("Patient/" + d.PatientId),
            Description = d.Title,
            Date = d.Date,
        };
        if (d.Type is { } type)
            reference.Type = new F.CodeableConcept(StoredSystemUri(type.System), type.Value, type.Display, null);
        if (d.Class is { } category)
            reference.Category.Add(new F.CodeableConcept(StoredSystemUri(category.System), category.Value, category.Display, null));

        if (d.AuthorRpps is not null || d.AuthorFamily is not null || d.AuthorGiven is not null)
        {
            var author = new F.Practitioner { Id = "author" };
            if (d.AuthorRpps is { } rpps)
                author.Identifier.Add(new F.Identifier(Rpps.SystemUri, Rpps.ToExtension(rpps)));
            if (d.AuthorFamily is not null || d.AuthorGiven is not null)
                author.Name.Add(new F.HumanName { Family = d.AuthorFamily, Given = d.AuthorGiven?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [] });
            reference.Contained.Add(author);
            reference.Author.Add(new F.ResourceReference("#author"));
        }

        // A structure id in digits is the national one (Oids.Structure); a facility's own id (MSH-4 text) has no known system.
        if (d.AuthorOrganisation is { } organisation)
        {
            reference.Custodian = new F.ResourceReference
            {
                Identifier = new F.Identifier(organisation.All(char.IsAsciiDigit) ? Oids.ToUri(Oids.Structure) : null, organisation),
            };
        }

        if (d.Confidentiality is { } confidentiality)
            reference.SecurityLabel.Add(new F.CodeableConcept(DmpFhir.ConfidentialitySystem, confidentiality));
        AddVisibility(reference, d.Masked, d.HiddenFromPatient, hiddenFromLegalRepresentatives: false);

        var attachment = new F.Attachment { ContentType = d.MimeType, Language = d.Language, Url = d.ContentUrl, Title = d.Title };
        if (d.Size is { } size and >= 0 and <= int.MaxValue)
            attachment.SizeElement = new F.UnsignedInt((int)size);
        attachment.Hash = d.Sha1;
        if (d.CreatedAt is { } created)
            attachment.CreationElement = new F.FhirDateTime(created);
        var content = new F.DocumentReference.ContentComponent { Attachment = attachment };
        if (d.FormatCode is { } format)
            content.Format = new F.Coding(null, format);
        reference.Content.Add(content);

        var context = new F.DocumentReference.ContextComponent();
        if (d.ServiceStart is not null || d.ServiceStop is not null)
            context.Period = new F.Period(d.ServiceStart is { } s ? new F.FhirDateTime(s) : null, d.ServiceStop is { } e ? new F.FhirDateTime(e) : null);
        if (d.FacilityType is { } facility)
            context.FacilityType = new F.CodeableConcept(null, facility);
        if (d.PracticeSetting is { } setting)
            context.PracticeSetting = new F.CodeableConcept(null, setting);
        if (d.EventCode is { } eventCode)
            context.Event.Add(new F.CodeableConcept(null, eventCode));
        if (context.Period is not null || context.FacilityType is not null || context.PracticeSetting is not null || context.Event.Count > 0)
            reference.Context = context;

        if (d.ReplacesId is { } replaces)
        {
            reference.RelatesTo.Add(new F.DocumentReference.RelatesToComponent
            {
                Code = F.DocumentRelationshipType.Replaces,
                Target = new F.ResourceReference("DocumentReference/" + replaces),
            });
        }
        return reference;
    }

    /// <summary>A stored uniqueId (`root` or `root^extension`) as masterIdentifier.</summary>
    public static F.Identifier StoredMasterIdentifier(string uniqueId)
    {
        ArgumentNullException.ThrowIfNull(uniqueId);
        var caret = uniqueId.IndexOf('^', StringComparison.Ordinal);
        if (caret > 0)
            return new F.Identifier("urn:oid:" + uniqueId[..caret], uniqueId[(caret + 1)..]);
        // Only an OID becomes urn:oid:. A URI kept as such (a CDA's UUID id is stored `urn:uuid:…`) stays itself, and an id that
        // is neither (CI-SIS 2.0 senders write `…120456789.A71024000081` in TXA-12) is served as given: `urn:oid:` would be false.
        if (uniqueId.StartsWith("urn:", StringComparison.OrdinalIgnoreCase))
            return new F.Identifier("urn:ietf:rfc:3986", uniqueId);
        return Generic.PatientReader.IsOid(uniqueId)
            ? new F.Identifier("urn:ietf:rfc:3986", "urn:oid:" + uniqueId)
            : new F.Identifier(null, uniqueId);
    }

    /// <summary>XDS availability as DocumentReference.status: a deleted document is entered-in-error, as PDSm writes it.</summary>
    public static F.DocumentReferenceStatus Status(DocumentStatus status) => status switch
    {
        DocumentStatus.Superseded => F.DocumentReferenceStatus.Superseded,
        DocumentStatus.Deleted => F.DocumentReferenceStatus.EnteredInError,
        _ => F.DocumentReferenceStatus.Current,
    };

    private static void AddVisibility(F.DocumentReference reference, bool masked, bool hiddenFromPatient, bool hiddenFromLegalRepresentatives)
    {
        if (masked)
            reference.SecurityLabel.Add(DmpFhir.VisibilityLabel(VisibilityCodes.MaskedToProfessionals));
        if (hiddenFromPatient)
            reference.SecurityLabel.Add(DmpFhir.VisibilityLabel(VisibilityCodes.HiddenFromPatient));
        if (hiddenFromLegalRepresentatives)
            reference.SecurityLabel.Add(DmpFhir.VisibilityLabel(VisibilityCodes.HiddenFromLegalRepresentatives));
    }

    private static void AddRelations(F.DocumentReference reference, IReadOnlyList<Identifier> targets, F.DocumentRelationshipType code)
    {
        foreach (var parent in targets)
        {
            reference.RelatesTo.Add(new F.DocumentReference.RelatesToComponent
            {
                Code = code,
                Target = new F.ResourceReference { Identifier = new F.Identifier(RootUri(parent.System), parent.Value) },
            });
        }
    }

    /// <summary>A logical reference (identifier and display), for people and organisations the Bundle does not carry.</summary>
    private static F.ResourceReference Logical(Identifier? id, Practitioner? person, string? display = null) => new()
    {
        Identifier = id is null ? null : new F.Identifier(RootUri(id.System), id.Value),
        Display = person is null ? display : string.Join(' ', new[] { person.Given, person.Family }.Where(s => !string.IsNullOrEmpty(s))) is { Length: > 0 } name ? name : null,
    };

    /// <summary>A stored code system: the terminology's URI, else a URI as it is, else the text as an OID.</summary>
    private static string? StoredSystemUri(string? system) =>
        system is null ? null : CodeSystems.Uri(system) ?? (system.Contains(':', StringComparison.Ordinal) ? system : "urn:oid:" + system);
}
