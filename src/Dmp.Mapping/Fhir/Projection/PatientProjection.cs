using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>
/// A patient as a FHIR Patient, the one way `map` prints it and the dossier API serves it: the INS as the official
/// identifier, local identifiers, names, birth date, gender, addresses, death and FR Core's identity reliability.
/// </summary>
public static class PatientProjection
{
    public static F.Patient ToFhir(Patient patient, string id)
    {
        ArgumentNullException.ThrowIfNull(patient);
        var result = new F.Patient { Id = id };
        if (patient.Ins is { } ins)
        {
            result.Identifier.Add(new F.Identifier(ins.System.Length > 0 ? Oids.ToUri(ins.System) : null, ins.Value)
            {
                Use = F.Identifier.IdentifierUse.Official,
                Type = new F.CodeableConcept(DmpFhir.IdentifierTypeSystem, "INS-NIR"),
            });
        }
        foreach (var local in patient.LocalIdentifiers)
        {
            var system = FhirValues.IdentifierSystemUri(local.System);
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
        result.Gender = Gender(patient.Sex);
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
            var reliability = new F.Extension { Url = DmpFhir.IdentityReliabilityExtension };
            reliability.Extension.Add(new F.Extension("identityStatus", new F.Coding(DmpFhir.IdentityStatusSystem, status)));
            // How the identity was checked (PAM France ZFD-11), beside the status it backs.
            if (patient.IdentityCheck?.EvidenceType is { } evidence)
                reliability.Extension.Add(new F.Extension("validationMode", new F.Coding(DmpFhir.IdentityValidationModeSystem, evidence)));
            result.Extension.Add(reliability);
        }
        return result;
    }

    /// <summary>Administrative sex (HL7 table 0001) as FHIR gender; null for a value the table does not have.</summary>
    public static F.AdministrativeGender? Gender(string? sex) => sex switch
    {
        "M" => F.AdministrativeGender.Male,
        "F" => F.AdministrativeGender.Female,
        "U" => F.AdministrativeGender.Unknown,
        "O" or "A" or "N" => F.AdministrativeGender.Other,
        _ => null,
    };

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
