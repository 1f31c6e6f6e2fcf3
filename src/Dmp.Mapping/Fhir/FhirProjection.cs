using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir;

/// <summary>Projects DMP model records onto FHIR R4 resources (what `map` prints and the API serves).</summary>
public static class FhirProjection
{
    /// <summary>FR Core's identity reliability extension and its status code system (PID-32 values).</summary>
    public const string IdentityReliabilityExtension = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability";
    public const string IdentityStatusSystem = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445";

    public static F.Patient ToFhir(Patient patient, string id)
    {
        var result = new F.Patient { Id = id };
        if (patient.Ins is { } ins)
        {
            result.Identifier.Add(new F.Identifier(Oids.ToUri(ins.System), ins.Value)
            {
                Use = F.Identifier.IdentifierUse.Official,
                Type = new F.CodeableConcept("https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identifier-type", "INS-NIR"),
            });
        }
        foreach (var local in patient.LocalIdentifiers)
        {
            var system = PatientSystemUri(local.System);
            var identifier = new F.Identifier(system, local.Value) { Use = F.Identifier.IdentifierUse.Usual };
            if (local.Type is { } type)
                identifier.Type = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0203", type);
            if (system is null && local.AssigningAuthority is { } authority)
                identifier.Assigner = new F.ResourceReference { Display = authority };
            result.Identifier.Add(identifier);
        }
        foreach (var name in patient.Names)
        {
            var human = new F.HumanName { Family = name.Family, Given = name.Given.ToList(), Use = NameUse(name.Use) };
            if (name.Prefix is { } prefix)
                human.Prefix = [prefix];
            if (name.Suffix is { } suffix)
                human.Suffix = [suffix];
            result.Name.Add(human);
        }
        if (patient.BirthDate is { } birth && FhirDates.ToDate(birth) is { } birthDate)
            result.BirthDateElement = new F.Date(birthDate);
        result.Gender = patient.Sex switch
        {
            "M" => F.AdministrativeGender.Male,
            "F" => F.AdministrativeGender.Female,
            "U" => F.AdministrativeGender.Unknown,
            "O" or "A" or "N" => F.AdministrativeGender.Other,
            _ => null,
        };
        foreach (var address in patient.Addresses)
        {
            result.Address.Add(new F.Address
            {
                Line = address.Lines.ToList(),
                City = address.City,
                PostalCode = address.PostalCode,
                Country = address.Country,
            });
        }
        if (patient.DeceasedAt is { } died && FhirDates.ToDateTime(died) is { } diedText)
            result.Deceased = new F.FhirDateTime(diedText);
        else if (patient.Deceased is { } deceased)
            result.Deceased = new F.FhirBoolean(deceased);
        if (patient.IdentityStatus is { } status)
        {
            var extension = new F.Extension { Url = IdentityReliabilityExtension };
            extension.Extension.Add(new F.Extension("identityStatus", new F.Coding(IdentityStatusSystem, status)));
            result.Extension.Add(extension);
        }
        return result;
    }

    public static F.MessageHeader ToFhir(MessageInfo info, string id, IEnumerable<F.ResourceReference> focus)
    {
        var header = new F.MessageHeader
        {
            Id = id,
            Event = new F.Coding("http://terminology.hl7.org/CodeSystem/v2-0003", info.TriggerEvent ?? "unknown",
                info.MessageType is null ? null : $"{info.MessageType}^{info.TriggerEvent}"),
            Source = new F.MessageHeader.MessageSourceComponent
            {
                Name = info.SendingApplication,
                Endpoint = "urn:dmp-ingest:sender:" + Uri.EscapeDataString(info.Sender),
            },
            Focus = focus.ToList(),
        };
        if (info.ReceivingApplication is not null || info.ReceivingFacility is not null)
        {
            header.Destination.Add(new F.MessageHeader.MessageDestinationComponent
            {
                Name = info.ReceivingApplication,
                Endpoint = "urn:dmp-ingest:receiver:" + Uri.EscapeDataString($"{info.ReceivingApplication}|{info.ReceivingFacility}"),
            });
        }
        return header;
    }

    /// <summary>A patient identifier system as a URI: `urn:oid:` for an OID, the text itself when it already is a URI.</summary>
    public static string? PatientSystemUri(string? system)
    {
        if (string.IsNullOrEmpty(system))
            return null;
        if (Generic.PatientReader.IsOid(system))
            return Oids.ToUri(system);
        return Uri.TryCreate(system, UriKind.Absolute, out _) ? system : null;
    }

    private static F.HumanName.NameUse? NameUse(string? hl7Type) => hl7Type switch
    {
        "L" => F.HumanName.NameUse.Official,
        "D" => F.HumanName.NameUse.Usual,
        "M" => F.HumanName.NameUse.Maiden,
        "N" or "A" => F.HumanName.NameUse.Nickname,
        "S" => F.HumanName.NameUse.Anonymous,
        _ => null,
    };
}
