using System.Globalization;
using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Rules;

/// <summary>What a model field holds; a rule's value is converted to it once, when the rule is compiled.</summary>
internal enum Shape
{
    Text,
    Date,
    Flag,
    Number,
    Integer,
    Code,
    Identifier,
    Identifiers,
    Names,
    Addresses,
    Person,
    /// <summary>The HL7 element itself (an OBX-5 read with its OBX-2, an ED …).</summary>
    Element,
    /// <summary>Key → value pairs collected over segments (MetaDMPMSS flags).</summary>
    Map,
}

/// <summary>Identifier layouts an identifier field can be read as.</summary>
internal enum IdLayout { Cx, Ei, Xon, Hd }

/// <summary>Conversions from HL7 elements and text to model values (no reflection, no regex).</summary>
internal static class Shapes
{
    public static bool IsTextual(Shape shape) => shape is Shape.Text or Shape.Date or Shape.Flag or Shape.Number or Shape.Integer;

    public static string Describe(Shape shape) => shape switch
    {
        Shape.Text => "text",
        Shape.Date => "a date",
        Shape.Flag => "a Y/N flag",
        Shape.Number => "a number",
        Shape.Integer => "an integer",
        Shape.Code => "a code (CE/CWE)",
        Shape.Identifier => "an identifier",
        Shape.Identifiers => "a list of identifiers (CX)",
        Shape.Names => "a list of names (XPN)",
        Shape.Addresses => "a list of addresses (XAD)",
        Shape.Person => "a person (XCN)",
        Shape.Element => "an HL7 element",
        Shape.Map => "key/value pairs (collect:)",
        _ => shape.ToString(),
    };

    /// <summary>Text to a model value of a textual shape; null when the text does not convert.</summary>
    public static object? FromText(Shape shape, string text, TimeZoneInfo? zone) => shape switch
    {
        Shape.Text => text,
        Shape.Date => Hl7DateTime.TryParse(text, out var dt) ? MapRun.ToPartial(dt, zone) : null,
        Shape.Flag => text.Trim() switch
        {
            "Y" or "y" or "YES" or "Yes" or "true" or "1" => true,
            "N" or "n" or "NO" or "No" or "false" or "0" => false,
            _ => null,
        },
        Shape.Number => Hl7Nm.TryParse(text, out var d) ? d : null,
        Shape.Integer => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null,
        _ => null,
    };

    // The readers below decode only the components they use (the same ones Hl7Coded, Hl7Xpn, Hl7Xad and Hl7Hd
    // would give), and only once they know the element is worth reading: most of a mapping's time is decoding text.

    public static Code? ToCode(Hl7Field element, CodeTable? systems)
    {
        if (element.IsEmpty)
            return null;
        var identifier = element.PartValue(1);
        var text = element.PartValue(2);
        if (identifier is null && text is null)
            return null;
        var system = element.PartValue(3) is { } s ? systems?.Lookup(s) ?? s : null;
        return new Code(identifier ?? "", system, text ?? element.PartValue(9));
    }

    public static Identifier? ToIdentifier(Hl7Field element, IdLayout layout, CodeTable? authorities)
    {
        if (element.IsEmpty)
            return null;
        string? id;
        Hl7Field authority, type;
        switch (layout)
        {
            case IdLayout.Ei:
                // Read leniently: some senders put text in EI-2; only EI-3 (universal id) names the system.
                id = element.GetComponent(1).ValueOrNull?.Trim();
                var root = element.GetComponent(3).ValueOrNull?.Trim();
                if (string.IsNullOrEmpty(id))
                    return null;
                if (root is null && PatientReader.IsOid(id))
                    return new Identifier("urn:ietf:rfc:3986", "urn:oid:" + id);
                return new Identifier(root ?? "", id, null, element.GetComponent(2).ValueOrNull);
            case IdLayout.Xon:
                id = element.GetComponent(10).ValueOrNull;
                authority = element.GetComponent(6);
                type = element.GetComponent(7);
                break;
            case IdLayout.Hd:
                id = element.GetComponent(2).ValueOrNull ?? element.GetComponent(1).ValueOrNull;
                authority = default;
                type = default;
                break;
            default:
                id = element.GetComponent(1).ValueOrNull;
                authority = element.GetComponent(4);
                type = element.GetComponent(5);
                break;
        }
        if (string.IsNullOrWhiteSpace(id))
            return null;
        // An HD's namespace (1) and universal id (2), as Hl7Hd.From reads them; its type (3) names no system.
        var ns = authority.PartValue(1);
        var uid = authority.PartValue(2);
        return new Identifier(ResolveSystem(ns, uid, authorities), id.Trim(), type.ValueOrNull, ns);
    }

    /// <summary>The assigning authority's OID when it gives one, else the OID a table knows for its namespace, else the namespace.</summary>
    public static string ResolveSystem(Hl7Hd authority, CodeTable? authorities) =>
        ResolveSystem(authority.NamespaceId, authority.UniversalId, authorities);

    /// <summary><see cref="ResolveSystem(Hl7Hd, CodeTable?)"/> from an HD's namespace id and universal id.</summary>
    public static string ResolveSystem(string? namespaceId, string? universalId, CodeTable? authorities)
    {
        if (universalId is { } uid && PatientReader.IsOid(uid.Trim()))
            return uid.Trim();
        if (namespaceId is { } ns)
        {
            if (authorities is not null && authorities.TryLookup(ns.Trim(), out var oid))
                return oid;
            return ns.Trim();
        }
        return universalId?.Trim() ?? "";
    }

    public static List<Identifier> ToIdentifiers(Hl7Field field, IdLayout layout, CodeTable? authorities)
    {
        var list = new List<Identifier>(field.RepetitionCount);
        for (var r = 1; r <= field.RepetitionCount; r++)
        {
            if (ToIdentifier(field.GetRepetition(r), layout, authorities) is { } id)
                list.Add(id);
        }
        return list;
    }

    public static List<PersonName> ToNames(Hl7Field field)
    {
        var names = new List<PersonName>(field.RepetitionCount);
        for (var r = 1; r <= field.RepetitionCount; r++)
        {
            var rep = field.GetRepetition(r);
            if (rep.IsEmpty)
                continue;
            // XPN as Hl7Xpn reads it: family 1.1, given 2, second given 3, suffix 4, prefix 5, type 7.
            var family = rep.Part(1).GetSubComponent(1).ValueOrNull;
            var firstGiven = rep.PartValue(2);
            var secondGiven = rep.PartValue(3);
            var given = new List<string>(2);
            if (!string.IsNullOrEmpty(firstGiven))
                given.Add(firstGiven);
            if (!string.IsNullOrEmpty(secondGiven))
            {
                foreach (var part in secondGiven.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!given.Contains(part))
                        given.Add(part);
                }
            }
            if (string.IsNullOrEmpty(family) && given.Count == 0)
                continue;
            names.Add(new PersonName(Empty(family), given, Empty(rep.PartValue(5)), Empty(rep.PartValue(4)), Empty(rep.PartValue(7))));
        }
        return names;
    }

    public static List<Address> ToAddresses(Hl7Field field)
    {
        var list = new List<Address>(field.RepetitionCount);
        for (var r = 1; r <= field.RepetitionCount; r++)
        {
            var rep = field.GetRepetition(r);
            if (rep.IsEmpty)
                continue;
            // XAD as Hl7Xad reads it: street 1.1, other designation 2, city 3, postal code 5, country 6, type 7.
            var street = rep.Part(1).GetSubComponent(1).ValueOrNull;
            var other = rep.PartValue(2);
            var city = rep.PartValue(3);
            var postalCode = rep.PartValue(5);
            var lines = new List<string>(2);
            if (!string.IsNullOrEmpty(street))
                lines.Add(street);
            if (!string.IsNullOrEmpty(other))
                lines.Add(other);
            if (lines.Count == 0 && string.IsNullOrEmpty(city) && string.IsNullOrEmpty(postalCode))
                continue;
            list.Add(new Address(lines, Empty(city), Empty(postalCode), Empty(rep.PartValue(6)), Empty(rep.PartValue(7))));
        }
        return list;
    }

    /// <summary>XCN (and PRT-5): id, family name, given name, assigning authority (component 9), identifier type (13).</summary>
    public static Practitioner? ToPerson(Hl7Field element, CodeTable? authorities)
    {
        if (element.IsEmpty)
            return null;
        var id = element.GetComponent(1).ValueOrNull;
        var family = element.GetComponent(2).GetSubComponent(1).ValueOrNull;
        var given = element.GetComponent(3).ValueOrNull;
        if (id is null && family is null && given is null)
            return null;
        Identifier? identifier = null;
        if (!string.IsNullOrWhiteSpace(id))
        {
            var authority = element.GetComponent(9);
            var ns = authority.PartValue(1);
            identifier = new Identifier(ResolveSystem(ns, authority.PartValue(2), authorities), id.Trim(), element.GetComponent(13).ValueOrNull, ns);
        }
        return new Practitioner(identifier, family, given);
    }

    private static string? Empty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
