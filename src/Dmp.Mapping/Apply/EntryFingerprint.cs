using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Model;
using Dmp.Model.Apply;

namespace Dmp.Mapping.Apply;

/// <summary>
/// The natural key of a clinical entry, hashed (SHA-256, lower-case hex): the same allergy or result from two
/// sources has one fingerprint, so it is one entry with two provenances (<c>ux_entry_fingerprint</c> per patient and kind).
/// </summary>
/// <remarks>
/// Keys: allergy = substance code (+ system); observation = code + effective time + value + unit; medication = kind +
/// drug code + date + prescriber; problem = code + onset (else recorded); immunization = vaccine + date; procedure =
/// code + date; encounter = its id (else start + class); diagnostic report = its id (else code + effective time).
/// Code systems go through their FHIR system URI so `LN` from HL7 v2 and
/// 2.16.840.1.113883.6.1 from a CDA name the same LOINC code; times are compared as UTC instants at the precision
/// given; numbers without trailing zeros; texts trimmed and case-folded.
/// </remarks>
public static class EntryFingerprint
{
    /// <summary>The key of a model record (<see cref="Allergy"/>, <see cref="Observation"/>, <see cref="Medication"/> …).</summary>
    /// <exception cref="ArgumentException">The record is not a clinical entry.</exception>
    public static EntryKey Of(object record)
    {
        Func<string?, string?> canonicalSystem = CodeSystems.Uri;
        return record switch
        {
            Allergy a => Key("AllergyIntolerance", a.Substance, a.IdentifiedAt, canonicalSystem,
                CodeText(a.Substance, canonicalSystem)),
            Observation o => Key("Observation", o.Code, o.EffectiveAt, canonicalSystem,
                CodeText(o.Code, canonicalSystem), Time(o.EffectiveAt), ValueText(o.Value, canonicalSystem), CodeText(o.Unit, canonicalSystem)),
            Medication m => Key(MedicationKind(m.Kind), m.Drug, m.At, canonicalSystem,
                m.Kind.ToString(), CodeText(m.Drug, canonicalSystem), Time(m.At), PersonText(m.Prescriber)),
            Problem p => Key("Condition", p.Code, p.OnsetAt ?? p.RecordedAt, canonicalSystem,
                CodeText(p.Code, canonicalSystem), Time(p.OnsetAt ?? p.RecordedAt)),
            Immunization i => Key("Immunization", i.Vaccine, i.OccurredAt, canonicalSystem,
                CodeText(i.Vaccine, canonicalSystem), Time(i.OccurredAt)),
            Procedure p => Key("Procedure", p.Code, p.PerformedAt, canonicalSystem,
                CodeText(p.Code, canonicalSystem), Time(p.PerformedAt)),
            Encounter e => Key("Encounter", null, e.Start, canonicalSystem,
                e.Id is { } id ? "id:" + IdText(id) : "at:" + Time(e.Start) + "|" + e.Class),
            DiagnosticReport r => Key("DiagnosticReport", r.Code, r.EffectiveAt, canonicalSystem,
                r.Id is { } rid ? "id:" + IdText(rid) : "code:" + CodeText(r.Code, canonicalSystem) + "|" + Time(r.EffectiveAt)),
            _ => throw new ArgumentException($"{record?.GetType().Name ?? "null"} is not a clinical entry.", nameof(record)),
        };
    }

    /// <summary>The FHIR resource type a medication becomes (as the FHIR projection writes it).</summary>
    public static string MedicationKind(MedicationKind kind) => kind switch
    {
        Model.MedicationKind.Reported => "MedicationStatement",
        Model.MedicationKind.Dispensed => "MedicationDispense",
        _ => "MedicationRequest",
    };

    private static EntryKey Key(string kind, Code? code, PartialDateTime? effective, Func<string?, string?> canonicalSystem, params string?[] parts)
    {
        var text = kind + "\u001f" + string.Join('\u001f', parts.Select(p => p ?? ""));
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var codeValue = code is { Value.Length: > 0 } ? code.Value : null;
        return new EntryKey(kind, fingerprint, codeValue, codeValue is null ? null : canonicalSystem(code!.System) ?? code!.System, PartialInstant.Of(effective));
    }

    private static string? CodeText(Code? code, Func<string?, string?> canonicalSystem)
    {
        if (code is null)
            return null;
        if (code.Value.Length == 0)
            return "text:" + Fold(code.Display);
        return (canonicalSystem(code.System) ?? code.System ?? "") + "|" + code.Value.Trim();
    }

    private static string IdText(Identifier id) => id.System + "|" + id.Value.Trim();

    private static string? PersonText(Practitioner? p) =>
        p is null ? null : p.Id is { } id ? IdText(id) : Fold(p.Family) + "|" + Fold(p.Given);

    private static string? ValueText(ObservationValue? v, Func<string?, string?> canonicalSystem)
    {
        if (v is null)
            return null;
        if (v.Number is { } n)
            return "n:" + v.Comparator + Number(n) + (v.Number2 is { } n2 ? v.Separator + Number(n2) : "");
        if (v.Coded is { } coded)
            return "c:" + CodeText(coded, canonicalSystem);
        if (v.Date is { } date)
            return "d:" + Time(date);
        return "t:" + Fold(v.Text);
    }

    private static string Number(decimal value) => value.ToString("G29", CultureInfo.InvariantCulture);

    /// <summary>A time at the precision given: UTC when it has a time of day, the calendar date otherwise.</summary>
    private static string? Time(PartialDateTime? value)
    {
        if (value is null)
            return null;
        if (value.Precision <= DateTimePrecision.Day)
        {
            var format = value.Precision switch { DateTimePrecision.Year => "yyyy", DateTimePrecision.Month => "yyyy-MM", _ => "yyyy-MM-dd" };
            return value.Value.ToString(format, CultureInfo.InvariantCulture);
        }
        var format2 = value.Precision switch
        {
            DateTimePrecision.Hour => "yyyy-MM-dd'T'HH'Z'",
            DateTimePrecision.Minute => "yyyy-MM-dd'T'HH:mm'Z'",
            DateTimePrecision.Second => "yyyy-MM-dd'T'HH:mm:ss'Z'",
            _ => "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'",
        };
        return PartialInstant.Of(value)!.Value.UtcDateTime.ToString(format2, CultureInfo.InvariantCulture);
    }

    private static string Fold(string? text) => (text ?? "").Trim().ToUpperInvariant();
}
