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
    /// <summary>The document's own templateIds (CI-SIS volet, C-CDA document type …).</summary>
    public IReadOnlyList<string> TemplateIds { get; init; } = [];
    /// <summary>The first author: a person (RPPS or other id) with their organisation.</summary>
    public Practitioner? Author { get; init; }
    public Identifier? AuthorOrganisation { get; init; }
    public string? AuthorOrganisationName { get; init; }
    public Identifier? Custodian { get; init; }
    public string? CustodianName { get; init; }
    public Practitioner? LegalAuthenticator { get; init; }
    public PartialDateTime? LegalAuthenticatedAt { get; init; }
    public Code? ServiceEvent { get; init; }
    public PartialDateTime? ServiceStart { get; init; }
    public PartialDateTime? ServiceStop { get; init; }
    /// <summary>The stay the document belongs to (componentOf/encompassingEncounter).</summary>
    public CdaEncounter? Encounter { get; init; }
    public IReadOnlyList<Identifier> Appends { get; init; } = [];
    public IReadOnlyList<Identifier> Transforms { get; init; } = [];
}

/// <summary>componentOf/encompassingEncounter: id, code, period, responsible party, location.</summary>
public sealed record CdaEncounter(Identifier? Id, Code? Code, PartialDateTime? Start, PartialDateTime? End, Practitioner? Responsible, string? Location);

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
            Replaces = Related(root, "RPLC"),
            Appends = Related(root, "APND"),
            Transforms = Related(root, "XFRM"),
            IsNonXmlBody = nonXml is not null,
            NonXmlMediaType = (string?)nonXml?.Element(V3 + "text")?.Attribute("mediaType"),
            TemplateIds = root.Elements(V3 + "templateId").Select(t => (string?)t.Attribute("root")).OfType<string>().Distinct(StringComparer.Ordinal).ToList(),
        };
        var author = root.Element(V3 + "author")?.Element(V3 + "assignedAuthor");
        var authorOrg = author?.Element(V3 + "representedOrganization");
        var custodian = root.Element(V3 + "custodian")?.Element(V3 + "assignedCustodian")?.Element(V3 + "representedCustodianOrganization");
        var legal = root.Element(V3 + "legalAuthenticator");
        var serviceEvent = root.Elements(V3 + "documentationOf").Select(d => d.Element(V3 + "serviceEvent")).OfType<XElement>().FirstOrDefault();
        var (serviceStart, serviceStop) = Period(serviceEvent?.Element(V3 + "effectiveTime"));
        header = header with
        {
            Author = Person(author, "author"),
            AuthorOrganisation = Ii(authorOrg?.Element(V3 + "id")),
            AuthorOrganisationName = Text(authorOrg?.Element(V3 + "name")),
            Custodian = Ii(custodian?.Element(V3 + "id")),
            CustodianName = Text(custodian?.Element(V3 + "name")),
            LegalAuthenticator = legal is null ? null : Person(legal.Element(V3 + "assignedEntity"), "legal-authenticator") ?? new Practitioner(null, null, null, "legal-authenticator"),
            LegalAuthenticatedAt = Ts(legal?.Element(V3 + "time")),
            ServiceEvent = Cd(serviceEvent?.Element(V3 + "code")),
            ServiceStart = serviceStart,
            ServiceStop = serviceStop,
            Encounter = ReadEncounter(root.Element(V3 + "componentOf")?.Element(V3 + "encompassingEncounter")),
        };
        error = null;
        return true;
    }

    private static List<Identifier> Related(XElement root, string typeCode) =>
        root.Elements(V3 + "relatedDocument")
            .Where(r => (string?)r.Attribute("typeCode") == typeCode)
            .Select(r => Ii(r.Element(V3 + "parentDocument")?.Element(V3 + "id")))
            .OfType<Identifier>().ToList();

    private static CdaEncounter? ReadEncounter(XElement? encounter)
    {
        if (encounter is null)
            return null;
        var (start, end) = Period(encounter.Element(V3 + "effectiveTime"));
        var location = encounter.Element(V3 + "location")?.Element(V3 + "healthCareFacility");
        var locationText = Text(location?.Element(V3 + "location")?.Element(V3 + "name"))
            ?? Text(location?.Element(V3 + "serviceProviderOrganization")?.Element(V3 + "name"))
            ?? Cd(location?.Element(V3 + "code"))?.Display;
        return new CdaEncounter(
            Ii(encounter.Element(V3 + "id")),
            Cd(encounter.Element(V3 + "code")),
            start,
            end,
            Person(encounter.Element(V3 + "responsibleParty")?.Element(V3 + "assignedEntity"), "responsible"),
            locationText);
    }

    /// <summary>A person acting on the document (assignedAuthor, assignedEntity): the first id (RPPS first), the name.</summary>
    internal static Practitioner? Person(XElement? assigned, string role)
    {
        if (assigned is null)
            return null;
        var ids = assigned.Elements(V3 + "id").Select(Ii).OfType<Identifier>().ToList();
        var id = ids.Find(i => i.System == Rpps.Oid) ?? ids.FirstOrDefault();
        var name = assigned.Element(V3 + "assignedPerson")?.Element(V3 + "name");
        var family = Text(name?.Element(V3 + "family"));
        var given = name is null ? null : string.Join(' ', name.Elements(V3 + "given").Select(g => g.Value.Trim()).Where(g => g.Length > 0));
        if (id is null && family is null && string.IsNullOrEmpty(given))
            return null;
        return new Practitioner(id, family, string.IsNullOrEmpty(given) ? null : given, role);
    }

    internal static string? Text(XElement? element)
    {
        var text = element?.Value.Trim();
        return string.IsNullOrEmpty(text) ? null : text;
    }

    /// <summary>An IVL_TS (low/high, or a single value as both ends' start).</summary>
    internal static (PartialDateTime? Start, PartialDateTime? End) Period(XElement? element)
    {
        if (element is null)
            return (null, null);
        var low = Ts(element.Element(V3 + "low"));
        var high = Ts(element.Element(V3 + "high"));
        if (low is null && high is null)
            return (Ts(element) ?? Ts(element.Element(V3 + "center")), null);
        return (low, high);
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
