using System.Security.Cryptography;
using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>A document and its XDS metadata as a FHIR DocumentReference.</summary>
public static class DocumentReferenceProjection
{
    public static F.DocumentReference ToFhir(Document d, string id, F.ResourceReference? subject)
    {
        ArgumentNullException.ThrowIfNull(d);
        var reference = new F.DocumentReference
        {
            Id = id,
            Status = d.Status switch
            {
                DocumentStatus.Superseded => F.DocumentReferenceStatus.Superseded,
                DocumentStatus.Deleted => F.DocumentReferenceStatus.EnteredInError,
                _ => F.DocumentReferenceStatus.Current,
            },
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
        if (d.Visibility.MaskedToProfessionals == true)
            reference.SecurityLabel.Add(DmpFhir.VisibilityLabel(VisibilityCodes.MaskedToProfessionals));
        if (d.Visibility.HiddenFromPatient == true)
            reference.SecurityLabel.Add(DmpFhir.VisibilityLabel(VisibilityCodes.HiddenFromPatient));
        if (d.Visibility.HiddenFromLegalRepresentatives == true)
            reference.SecurityLabel.Add(DmpFhir.VisibilityLabel(VisibilityCodes.HiddenFromLegalRepresentatives));
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
            return new F.Identifier(CdaMapper.SystemUri(id.System), id.Value);
        if (Generic.PatientReader.IsOid(id.Value))
            return new F.Identifier("urn:ietf:rfc:3986", "urn:oid:" + id.Value);
        return new F.Identifier { Value = id.Value };
    }
}
