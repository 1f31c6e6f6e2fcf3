using System.Globalization;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>The model's values (codes, identifiers, people, partial dates) as FHIR data types, the same way for every resource.</summary>
public static class FhirValues
{
    /// <summary>A code as a CodeableConcept: a coding when there is a code, the display as text otherwise.</summary>
    public static F.CodeableConcept? Concept(Code? code)
    {
        if (code is null)
            return null;
        if (code.Value.Length == 0)
            return string.IsNullOrEmpty(code.Display) ? null : new F.CodeableConcept { Text = code.Display };
        return new F.CodeableConcept(CodeSystems.Uri(code.System), code.Value, code.Display, null);
    }

    /// <summary>An identifier with a patient-style system (an OID or a URI); an unknown system gives the assigning authority as assigner.</summary>
    public static F.Identifier ToIdentifier(Identifier id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var identifier = new F.Identifier(IdentifierSystemUri(id.System), id.Value);
        if (identifier.System is null && id.AssigningAuthority is { } authority)
            identifier.Assigner = new F.ResourceReference { Display = authority };
        return identifier;
    }

    /// <summary>An identifier system as a URI: `urn:oid:` for an OID, the text itself when it already is a URI, else none.</summary>
    public static string? IdentifierSystemUri(string? system)
    {
        if (string.IsNullOrEmpty(system))
            return null;
        if (Generic.PatientReader.IsOid(system))
            return Oids.ToUri(system);
        return System.Uri.TryCreate(system, UriKind.Absolute, out _) ? system : null;
    }

    /// <summary>An II root (a CDA id, an XDS uniqueId's root) as an identifier system: `urn:oid:` for an OID, `urn:uuid:` for a UUID.</summary>
    public static string RootUri(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return root switch
        {
            "urn:ietf:rfc:3986" => root,
            _ when Guid.TryParse(root, out _) => "urn:uuid:" + root.ToLowerInvariant(),
            _ when Generic.PatientReader.IsOid(root) => "urn:oid:" + root,
            _ => "urn:dmp-ingest:root:" + System.Uri.EscapeDataString(root),
        };
    }

    /// <summary>A person the Bundle does not carry, as a logical reference: their identifier and "given family" as display.</summary>
    public static F.ResourceReference PersonRef(Practitioner p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return new()
        {
            Identifier = p.Id is { } id ? ToIdentifier(id) : null,
            Display = p.Family is null && p.Given is null ? null : string.Join(' ', new[] { p.Given, p.Family }.Where(s => !string.IsNullOrEmpty(s))),
        };
    }

    /// <summary>A partial date as a FHIR dateTime at the precision the sender gave (see <see cref="FhirDates"/>).</summary>
    public static F.FhirDateTime? ToDateTime(PartialDateTime? value) =>
        value is not null && FhirDates.ToDateTime(value) is { } text ? new F.FhirDateTime(text) : null;

    /// <summary>A partial date as an instant: only when it has seconds and an offset.</summary>
    public static DateTimeOffset? ToInstant(PartialDateTime? value) =>
        value is { Offset: { } offset, Precision: >= DateTimePrecision.Second } ? new DateTimeOffset(value.Value, offset) : null;

    /// <summary>A quantity in a unit: UCUM units also get their system and code.</summary>
    public static F.Quantity Quantity(decimal value, Code? unit)
    {
        var quantity = new F.Quantity { Value = value };
        ApplyUnit(quantity, unit);
        return quantity;
    }

    /// <summary>Sets a quantity's unit: its display (else its code) as text, and UCUM's system and code when the unit is UCUM.</summary>
    public static void ApplyUnit(F.Quantity quantity, Code? unit)
    {
        ArgumentNullException.ThrowIfNull(quantity);
        if (unit is null)
            return;
        quantity.Unit = string.IsNullOrEmpty(unit.Display) ? unit.Value : unit.Display;
        if (CodeSystems.Uri(unit.System) == "http://unitsofmeasure.org" && unit.Value.Length > 0)
        {
            quantity.System = "http://unitsofmeasure.org";
            quantity.Code = unit.Value;
        }
    }

    internal static string Invariant(int i) => i.ToString(CultureInfo.InvariantCulture);
}
