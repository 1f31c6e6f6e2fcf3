using System.Security.Cryptography;
using Dmp.Mapping.Cda;
using Dmp.Mapping.Fhir;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping;

/// <summary>Maps a CDA R2 document into a Bundle: the DocumentReference typed by its code, and its patient.</summary>
public static class CdaMapper
{
    public static MapResult Map(ReadOnlyMemory<byte> input)
    {
        if (!SafeXml.TryLoad(input, out var document, out var xmlError))
            return MapResult.Failed(xmlError!);
        if (!CdaHeaderReader.TryRead(document!, out var header, out var error))
            return MapResult.Failed(error!);

        var bundle = new F.Bundle { Type = F.Bundle.BundleType.Collection };
        F.ResourceReference? subject = null;
        if (header!.Patient is { } patient)
        {
            var key = patient.Ins ?? patient.LocalIdentifiers.FirstOrDefault();
            var resource = FhirProjection.ToFhir(patient, DeterministicId.From("Patient", key?.System, key?.Value ?? header.Id?.Value));
            bundle.Entry.Add(new F.Bundle.EntryComponent { FullUrl = "urn:uuid:" + resource.Id, Resource = resource });
            subject = new F.ResourceReference("urn:uuid:" + resource.Id);
        }

        var sha1 = SHA1.HashData(input.Span);
        var reference = new F.DocumentReference
        {
            Id = DeterministicId.From("DocumentReference", header.Id?.System, header.Id?.Value, Convert.ToHexString(SHA256.HashData(input.Span))),
            Status = F.DocumentReferenceStatus.Current,
            Subject = subject,
            Description = header.Title,
        };
        if (header.Id is { } id)
            reference.MasterIdentifier = new F.Identifier(SystemUri(id.System), id.Value);
        if (header.Type is { } type)
            reference.Type = new F.CodeableConcept(CodeSystemUri(type.System), type.Value, type.Display, null);
        if (header.Confidentiality is { } conf)
            reference.SecurityLabel.Add(new F.CodeableConcept(CodeSystemUri(conf.System), conf.Value));
        foreach (var parent in header.Replaces)
        {
            reference.RelatesTo.Add(new F.DocumentReference.RelatesToComponent
            {
                Code = F.DocumentRelationshipType.Replaces,
                Target = new F.ResourceReference { Identifier = new F.Identifier(SystemUri(parent.System), parent.Value) },
            });
        }
        var attachment = new F.Attachment
        {
            ContentType = "text/xml",
            Language = header.Language,
            // R4 `size` is unsignedInt: set the element (the `Size` shortcut makes an R5 integer64, written as a string).
            SizeElement = new F.UnsignedInt(input.Length),
            Hash = sha1,
            Title = header.Title,
            CreationElement = header.EffectiveTime is { } created && FhirDates.ToDateTime(created) is { } text ? new F.FhirDateTime(text) : null,
        };
        reference.Content.Add(new F.DocumentReference.ContentComponent { Attachment = attachment });
        bundle.Entry.Add(new F.Bundle.EntryComponent { FullUrl = "urn:uuid:" + reference.Id, Resource = reference });
        return MapResult.Mapped(bundle);
    }

    /// <summary>An II root as an identifier system: `urn:oid:` for an OID, `urn:uuid:` for a UUID.</summary>
    public static string SystemUri(string root) => root switch
    {
        "urn:ietf:rfc:3986" => root,
        _ when Guid.TryParse(root, out _) => "urn:uuid:" + root.ToLowerInvariant(),
        _ when Generic.PatientReader.IsOid(root) => "urn:oid:" + root,
        _ => "urn:dmp-ingest:root:" + Uri.EscapeDataString(root),
    };

    /// <summary>Known OIDs as the FHIR code system URIs; anything else as `urn:oid:`.</summary>
    public static string? CodeSystemUri(string? oid) => oid switch
    {
        null or "" => null,
        "2.16.840.1.113883.6.1" => "http://loinc.org",
        "2.16.840.1.113883.5.25" => "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        _ => "urn:oid:" + oid,
    };
}
