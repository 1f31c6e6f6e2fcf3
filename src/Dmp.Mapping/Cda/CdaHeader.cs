using System.Xml;
using System.Xml.Linq;
using Dmp.Model;

namespace Dmp.Mapping.Cda;

/// <summary>The header of a CDA R2 document: its identity, type, patient and author.</summary>
public sealed record CdaHeader
{
    public Identifier? Id { get; init; }
    public Code? Type { get; init; }
    public string? Title { get; init; }
    public PartialDateTime? EffectiveTime { get; init; }
    public Code? Confidentiality { get; init; }
    public string? Language { get; init; }
    public Identifier? SetId { get; init; }
    public int? Version { get; init; }
    public Patient? Patient { get; init; }
    public bool HasLegalAuthenticator { get; init; }
    public IReadOnlyList<Identifier> Replaces { get; init; } = [];
    public bool IsNonXmlBody { get; init; }
    public string? NonXmlMediaType { get; init; }
}

/// <summary>Reads a CDA R2 header (namespace `urn:hl7-org:v3`).</summary>
public static class CdaHeaderReader
{
    public static readonly XNamespace V3 = "urn:hl7-org:v3";

    public static bool TryRead(XDocument document, out CdaHeader? header, out MapError? error)
    {
        var root = document.Root;
        if (root is null || root.Name != V3 + "ClinicalDocument")
        {
            header = null;
            var (line, column) = Position(root);
            error = new MapError(root is null ? "empty XML document" : $"not a CDA R2 document: root element is <{root.Name.LocalName}> in namespace '{root.Name.NamespaceName}', expected <ClinicalDocument> in urn:hl7-org:v3", Line: line, Column: column);
            return false;
        }
        var code = root.Element(V3 + "code");
        var nonXml = root.Element(V3 + "component")?.Element(V3 + "nonXMLBody");
        header = new CdaHeader
        {
            Id = Ii(root.Element(V3 + "id")),
            Type = Cd(code),
            Title = root.Element(V3 + "title")?.Value.Trim(),
            EffectiveTime = Ts(root.Element(V3 + "effectiveTime")),
            Confidentiality = Cd(root.Element(V3 + "confidentialityCode")),
            Language = (string?)root.Element(V3 + "languageCode")?.Attribute("code"),
            SetId = Ii(root.Element(V3 + "setId")),
            Version = int.TryParse((string?)root.Element(V3 + "versionNumber")?.Attribute("value"), out var v) ? v : null,
            Patient = ReadPatient(root.Element(V3 + "recordTarget")?.Element(V3 + "patientRole")),
            HasLegalAuthenticator = root.Element(V3 + "legalAuthenticator") is not null,
            Replaces = root.Elements(V3 + "relatedDocument")
                .Where(r => (string?)r.Attribute("typeCode") == "RPLC")
                .Select(r => Ii(r.Element(V3 + "parentDocument")?.Element(V3 + "id")))
                .OfType<Identifier>().ToList(),
            IsNonXmlBody = nonXml is not null,
            NonXmlMediaType = (string?)nonXml?.Element(V3 + "text")?.Attribute("mediaType"),
        };
        error = null;
        return true;
    }

    private static Patient? ReadPatient(XElement? role)
    {
        if (role is null)
            return null;
        Identifier? ins = null;
        var locals = new List<Identifier>();
        foreach (var id in role.Elements(V3 + "id").Select(Ii).OfType<Identifier>())
        {
            if (ins is null && Oids.IsIns(id.System))
                ins = id;
            else
                locals.Add(id);
        }
        var person = role.Element(V3 + "patient");
        var names = new List<PersonName>();
        foreach (var name in person?.Elements(V3 + "name") ?? [])
        {
            var given = name.Elements(V3 + "given").Select(g => g.Value.Trim()).Where(g => g.Length > 0).ToList();
            var family = name.Elements(V3 + "family").FirstOrDefault();
            var use = (string?)family?.Attribute("qualifier") == "BR" ? "L" : (string?)family?.Attribute("qualifier") == "SP" ? "D" : null;
            names.Add(new PersonName(family?.Value.Trim(), given, name.Element(V3 + "prefix")?.Value.Trim(), name.Element(V3 + "suffix")?.Value.Trim(), use));
        }
        return new Patient
        {
            Ins = ins,
            IdentityStatus = ins is null ? null : "QUAL",
            LocalIdentifiers = locals,
            Names = names,
            BirthDate = Ts(person?.Element(V3 + "birthTime")),
            Sex = (string?)person?.Element(V3 + "administrativeGenderCode")?.Attribute("code"),
        };
    }

    internal static Identifier? Ii(XElement? element)
    {
        var root = (string?)element?.Attribute("root");
        if (string.IsNullOrEmpty(root))
            return null;
        var extension = (string?)element!.Attribute("extension");
        if (!string.IsNullOrEmpty(extension))
            return new Identifier(root, extension);
        // A root alone is the identifier (RFC 3986 form, as XDS uniqueIds are).
        return new Identifier("urn:ietf:rfc:3986", Guid.TryParse(root, out _) ? "urn:uuid:" + root.ToLowerInvariant() : "urn:oid:" + root);
    }

    internal static Code? Cd(XElement? element)
    {
        var code = (string?)element?.Attribute("code");
        return string.IsNullOrEmpty(code) ? null : new Code(code, (string?)element!.Attribute("codeSystem"), (string?)element.Attribute("displayName"));
    }

    internal static PartialDateTime? Ts(XElement? element)
    {
        var value = (string?)element?.Attribute("value");
        return value is not null && Hl7v2.Hl7DateTime.TryParse(value, out var ts) ? Generic.DateConversions.ToPartial(ts) : null;
    }

    private static (int Line, int Column) Position(XObject? node) =>
        node is IXmlLineInfo info && info.HasLineInfo() ? (info.LineNumber, info.LinePosition) : (1, 1);
}
