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

    public static Code? ToCode(Hl7Field element, CodeTable? systems)
    {
        if (element.IsEmpty)
            return null;
        var coded = element.AsCoded();
        if (coded.Identifier is null && coded.Text is null)
            return null;
        var system = coded.CodingSystem is { } s ? systems?.Lookup(s) ?? s : null;
        return new Code(coded.Identifier ?? "", system, coded.Text ?? coded.OriginalText);
    }

    public static Identifier? ToIdentifier(Hl7Field element, IdLayout layout, CodeTable? authorities)
    {
        if (element.IsEmpty)
            return null;
        string? id, type = null;
        Hl7Hd authority;
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
                authority = Hl7Hd.From(element.GetComponent(6));
                type = element.GetComponent(7).ValueOrNull;
                break;
            case IdLayout.Hd:
                id = element.GetComponent(2).ValueOrNull ?? element.GetComponent(1).ValueOrNull;
                authority = new Hl7Hd(null, null, null);
                break;
            default:
                id = element.GetComponent(1).ValueOrNull;
                authority = Hl7Hd.From(element.GetComponent(4));
                type = element.GetComponent(5).ValueOrNull;
                break;
        }
        if (string.IsNullOrWhiteSpace(id))
            return null;
        return new Identifier(ResolveSystem(authority, authorities), id.Trim(), type, authority.NamespaceId);
    }

    /// <summary>The assigning authority's OID when it gives one, else the OID a table knows for its namespace, else the namespace.</summary>
    public static string ResolveSystem(Hl7Hd authority, CodeTable? authorities)
    {
        if (authority.UniversalId is { } uid && PatientReader.IsOid(uid.Trim()))
            return uid.Trim();
        if (authority.NamespaceId is { } ns)
        {
            if (authorities is not null && authorities.TryLookup(ns.Trim(), out var oid))
                return oid;
            return ns.Trim();
        }
        return authority.UniversalId?.Trim() ?? "";
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
            var xpn = rep.AsXpn();
            var given = new List<string>(2);
            if (!string.IsNullOrEmpty(xpn.Given))
                given.Add(xpn.Given);
            if (!string.IsNullOrEmpty(xpn.SecondGiven))
            {
                foreach (var part in xpn.SecondGiven.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!given.Contains(part))
                        given.Add(part);
                }
            }
            if (string.IsNullOrEmpty(xpn.Family) && given.Count == 0)
                continue;
            names.Add(new PersonName(Empty(xpn.Family), given, Empty(xpn.Prefix), Empty(xpn.Suffix), Empty(xpn.NameTypeCode)));
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
            var xad = rep.AsXad();
            var lines = new List<string>(2);
            if (!string.IsNullOrEmpty(xad.Street))
                lines.Add(xad.Street);
            if (!string.IsNullOrEmpty(xad.OtherDesignation))
                lines.Add(xad.OtherDesignation);
            if (lines.Count == 0 && string.IsNullOrEmpty(xad.City) && string.IsNullOrEmpty(xad.PostalCode))
                continue;
            list.Add(new Address(lines, Empty(xad.City), Empty(xad.PostalCode), Empty(xad.Country), Empty(xad.AddressType)));
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
            var authority = Hl7Hd.From(element.GetComponent(9));
            identifier = new Identifier(ResolveSystem(authority, authorities), id.Trim(), element.GetComponent(13).ValueOrNull, authority.NamespaceId);
        }
        return new Practitioner(identifier, family, given);
    }

    private static string? Empty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
