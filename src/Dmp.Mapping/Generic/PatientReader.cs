using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Generic;

/// <summary>
/// The generic reading of a PID segment into the DMP patient: INS apart from local identifiers,
/// names by type, demographics and the PAM France identity reliability (PID-32).
/// </summary>
public static class PatientReader
{
    public static Patient Read(Hl7Segment pid)
    {
        Identifier? ins = null;
        var locals = new List<Identifier>();
        var ids = pid.GetField(3);
        for (var r = 1; r <= ids.RepetitionCount; r++)
        {
            var rep = ids.GetRepetition(r);
            if (rep.IsEmpty)
                continue;
            var cx = Hl7Cx.From(rep);
            if (string.IsNullOrEmpty(cx.Id))
                continue;
            var oid = IsOid(cx.AssigningAuthorityUniversalId) ? cx.AssigningAuthorityUniversalId : null;
            var system = oid ?? cx.AssigningAuthorityNamespace ?? "";
            var identifier = new Identifier(system, cx.Id, NullIfEmpty(cx.IdentifierTypeCode), NullIfEmpty(cx.AssigningAuthorityNamespace));
            if (ins is null && Oids.IsIns(oid))
                ins = identifier;
            else
                locals.Add(identifier);
        }

        var names = new List<PersonName>();
        var nameField = pid.GetField(5);
        for (var r = 1; r <= nameField.RepetitionCount; r++)
        {
            var rep = nameField.GetRepetition(r);
            if (rep.IsEmpty)
                continue;
            var xpn = Hl7Xpn.From(rep);
            var given = new List<string>();
            if (!string.IsNullOrEmpty(xpn.Given))
                given.Add(xpn.Given);
            if (!string.IsNullOrEmpty(xpn.SecondGiven))
                given.AddRange(xpn.SecondGiven.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            names.Add(new PersonName(NullIfEmpty(xpn.Family), given, NullIfEmpty(xpn.Prefix), NullIfEmpty(xpn.Suffix), NullIfEmpty(xpn.NameTypeCode)));
        }

        PartialDateTime? birth = Hl7DateTime.TryParse(pid.GetField(7), out var bd) ? bd.ToPartial() : null;
        PartialDateTime? death = Hl7DateTime.TryParse(pid.GetField(29), out var dd) ? dd.ToPartial() : null;
        var deceasedFlag = pid.GetField(30).Value;

        var addresses = new List<Address>();
        var addrField = pid.GetField(11);
        for (var r = 1; r <= addrField.RepetitionCount; r++)
        {
            var rep = addrField.GetRepetition(r);
            if (rep.IsEmpty)
                continue;
            var xad = Hl7Xad.From(rep);
            var lines = new[] { xad.Street, xad.OtherDesignation }.Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).ToList();
            if (lines.Count == 0 && string.IsNullOrEmpty(xad.City) && string.IsNullOrEmpty(xad.PostalCode))
                continue;
            addresses.Add(new Address(lines, NullIfEmpty(xad.City), NullIfEmpty(xad.PostalCode), NullIfEmpty(xad.Country), NullIfEmpty(xad.AddressType)));
        }

        return new Patient
        {
            Ins = ins,
            IdentityStatus = NullIfEmpty(pid.GetField(32).GetRepetition(1).GetComponent(1).Value),
            LocalIdentifiers = locals,
            Names = names,
            BirthDate = birth,
            Sex = NullIfEmpty(pid.GetField(8).GetComponent(1).Value),
            BirthPlace = NullIfEmpty(pid.GetField(23).GetComponent(1).Value),
            Addresses = addresses,
            Deceased = deceasedFlag switch { "Y" => true, "N" => false, _ => death is null ? null : true },
            DeceasedAt = death,
        };
    }

    /// <summary>Whether the text is an OID as the mapping reads one: digits separated by single dots.</summary>
    public static bool IsOid(string? value)
    {
        if (string.IsNullOrEmpty(value) || !char.IsAsciiDigit(value[0]) || !char.IsAsciiDigit(value[^1]))
            return false;
        var previousDot = false;
        foreach (var c in value)
        {
            if (c == '.')
            {
                if (previousDot)
                    return false;
                previousDot = true;
            }
            else if (char.IsAsciiDigit(c))
                previousDot = false;
            else
                return false;
        }
        return value.Contains('.', StringComparison.Ordinal);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
