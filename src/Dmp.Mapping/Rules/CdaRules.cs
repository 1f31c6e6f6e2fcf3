using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>The kinds of model entries a CDA section can feed (what the body reader knows how to read).</summary>
public enum CdaEntryKind { Allergies, Medications, Problems, History, Results, VitalSigns, Immunizations, Procedures, Encounters }

/// <summary>One line of a CDA rule's section table: sections with these templateIds or LOINC codes hold entries of this kind.</summary>
public sealed record CdaSectionRule(CdaEntryKind Entries, IReadOnlySet<string> TemplateIds, IReadOnlySet<string> Codes, bool Report, string? Category, string File)
{
    public bool Matches(IEnumerable<string> templateIds, string? code) =>
        (code is not null && Codes.Contains(code)) || templateIds.Any(TemplateIds.Contains);
}

/// <summary>
/// A CDA rule (`document:` file in `mappings/cda/`), compiled once: which documents it takes (ClinicalDocument/code
/// and templateId), which sections map to which entry kinds (its own, then its included `cda-sections:` files), and
/// the code tables it uses (`class-codes:` LOINC type → XDS classCode, `allergy-category:`).
/// </summary>
public sealed class CdaDocumentRule
{
    internal CdaDocumentRule(string id, string file, IReadOnlySet<string>? codes, IReadOnlySet<string>? templateIds,
        IReadOnlyList<CdaSectionRule> sections, CodeTable? classCodes, CodeTable? allergyCategory, IReadOnlyList<string> sourceFiles)
    {
        Id = id;
        File = file;
        Codes = codes;
        TemplateIds = templateIds;
        Sections = sections;
        ClassCodes = classCodes;
        AllergyCategory = allergyCategory;
        SourceFiles = sourceFiles;
    }

    public string Id { get; }
    public string File { get; }
    /// <summary>ClinicalDocument/code values the rule takes (null: any).</summary>
    public IReadOnlySet<string>? Codes { get; }
    /// <summary>Document templateIds of which one must be present (null: any).</summary>
    public IReadOnlySet<string>? TemplateIds { get; }
    public IReadOnlyList<CdaSectionRule> Sections { get; }
    public CodeTable? ClassCodes { get; }
    public CodeTable? AllergyCategory { get; }
    public IReadOnlyList<string> SourceFiles { get; }

    /// <summary>Code and templateId rules first, then code only, then templateId only, then catch-alls.</summary>
    internal int Specificity => (Codes is null ? 0 : 2) + (TemplateIds is null ? 0 : 1);

    public bool Matches(string? code, IReadOnlyCollection<string> templateIds) =>
        (Codes is null || (code is not null && Codes.Contains(code)))
        && (TemplateIds is null || templateIds.Any(TemplateIds.Contains));

    /// <summary>The section rule for a section: the first that lists one of its templateIds, else the first that lists its code.</summary>
    public CdaSectionRule? Section(IReadOnlyCollection<string> templateIds, string? code) =>
        Sections.FirstOrDefault(s => templateIds.Any(s.TemplateIds.Contains))
        ?? (code is null ? null : Sections.FirstOrDefault(s => s.Codes.Contains(code)));

    public string Describe() =>
        "CDA" + (Codes is null ? "" : " code " + string.Join('|', Codes.Order(StringComparer.Ordinal)))
        + (TemplateIds is null ? "" : " templateId " + string.Join('|', TemplateIds.Order(StringComparer.Ordinal)));
}

/// <summary>Reads `document:` rules and `cda-sections:` files, then compiles the rules against the tables.</summary>
internal sealed class CdaRuleLoader(List<RuleError> errors)
{
    private static readonly string[] DocumentKeys = ["document", "description", "when", "include", "sections", "class-codes", "allergy-category"];
    private static readonly string[] WhenKeys = ["code", "templateId"];
    private static readonly string[] SectionFileKeys = ["cda-sections", "description", "sections"];
    private static readonly string[] SectionKeys = ["entries", "templateIds", "codes", "report", "category"];

    private sealed record DocumentSpec(string Id, string File, YamlMappingNode Node, HashSet<string>? Codes, HashSet<string>? TemplateIds,
        List<(string Path, YamlNode Node)> Includes, List<CdaSectionRule> Sections, (string Name, YamlNode Node)? ClassCodes, (string Name, YamlNode Node)? AllergyCategory);

    private readonly List<DocumentSpec> _documents = [];
    private readonly Dictionary<string, List<CdaSectionRule>> _sectionFiles = new(StringComparer.Ordinal);

    public static bool IsCdaFile(YamlMappingNode doc) => YamlNodes.Get(doc, "document") is not null || YamlNodes.Get(doc, "cda-sections") is not null;

    public void Load(string file, YamlMappingNode doc)
    {
        if (YamlNodes.Get(doc, "cda-sections") is not null)
        {
            if (!YamlNodes.CheckKeys(errors, file, doc, SectionFileKeys))
                return;
            if (Sections(file, YamlNodes.Get(doc, "sections")) is { } list)
                _sectionFiles[file] = list;
            return;
        }
        if (!YamlNodes.CheckKeys(errors, file, doc, DocumentKeys))
            return;
        var id = YamlNodes.Scalar(YamlNodes.Get(doc, "document"));
        if (string.IsNullOrWhiteSpace(id))
        {
            errors.Add(YamlNodes.At(file, YamlNodes.Get(doc, "document")!, "document: needs a name"));
            return;
        }
        if (_documents.Find(d => d.Id == id) is { } existing)
        {
            errors.Add(YamlNodes.At(file, YamlNodes.Get(doc, "document")!, $"document rule '{id}' is already defined in {existing.File}"));
            return;
        }
        HashSet<string>? codes = null, templateIds = null;
        if (YamlNodes.Get(doc, "when") is { } when)
        {
            if (when is not YamlMappingNode w)
            {
                errors.Add(YamlNodes.At(file, when, "when: is a mapping (code, templateId)"));
                return;
            }
            if (!YamlNodes.CheckKeys(errors, file, w, WhenKeys))
                return;
            codes = Set(YamlNodes.Get(w, "code"));
            templateIds = Set(YamlNodes.Get(w, "templateId"));
        }
        var includes = new List<(string, YamlNode)>();
        if (YamlNodes.Get(doc, "include") is { } include)
        {
            if (include is not YamlSequenceNode seq || seq.Any(i => YamlNodes.Scalar(i) is null))
            {
                errors.Add(YamlNodes.At(file, include, "include: is a list of `cda-sections:` files (e.g. cda/sections/c-cda.yaml)"));
                return;
            }
            includes.AddRange(seq.Select(i => (YamlNodes.Scalar(i)!, i)));
        }
        var sections = Sections(file, YamlNodes.Get(doc, "sections"));
        if (sections is null)
            return;
        _documents.Add(new DocumentSpec(id, file, doc, codes, templateIds, includes, sections,
            TableRef(doc, "class-codes"), TableRef(doc, "allergy-category")));
    }

    /// <summary>Compiles every document rule: includes resolved, tables found; most specific first, ties by file name.</summary>
    public List<CdaDocumentRule> Compile(IReadOnlyDictionary<string, CodeTable> tables)
    {
        var result = new List<CdaDocumentRule>();
        foreach (var spec in _documents)
        {
            var files = new SortedSet<string>(StringComparer.Ordinal) { spec.File };
            var sections = new List<CdaSectionRule>(spec.Sections);
            foreach (var (path, node) in spec.Includes)
            {
                if (!_sectionFiles.TryGetValue(path, out var included))
                {
                    errors.Add(YamlNodes.At(spec.File, node, $"include: no `cda-sections:` file '{path}'"));
                    continue;
                }
                files.Add(path);
                sections.AddRange(included);
            }
            CodeTable? Table((string Name, YamlNode Node)? reference)
            {
                if (reference is not { } r)
                    return null;
                if (!tables.TryGetValue(r.Name, out var table))
                {
                    errors.Add(YamlNodes.At(spec.File, r.Node, $"unknown table '{r.Name}'"));
                    return null;
                }
                files.Add(table.File);
                return table;
            }
            var classCodes = Table(spec.ClassCodes);
            var allergy = Table(spec.AllergyCategory);
            result.Add(new CdaDocumentRule(spec.Id, spec.File, spec.Codes, spec.TemplateIds, sections, classCodes, allergy, [.. files]));
        }
        return [.. result.OrderByDescending(r => r.Specificity).ThenBy(r => r.File, StringComparer.Ordinal)];
    }

    private (string, YamlNode)? TableRef(YamlMappingNode doc, string key) =>
        YamlNodes.Get(doc, key) is { } node && YamlNodes.Scalar(node) is { } name ? (name, node) : null;

    private List<CdaSectionRule>? Sections(string file, YamlNode? node)
    {
        var list = new List<CdaSectionRule>();
        if (node is null)
            return list;
        if (node is not YamlSequenceNode seq)
        {
            errors.Add(YamlNodes.At(file, node, "sections: is a list of { entries:, templateIds:, codes: }"));
            return null;
        }
        foreach (var item in seq)
        {
            if (item is not YamlMappingNode map || !YamlNodes.CheckKeys(errors, file, map, SectionKeys))
            {
                if (item is not YamlMappingNode)
                    errors.Add(YamlNodes.At(file, item, "a section is a mapping { entries:, templateIds:, codes: }"));
                return null;
            }
            var kindNode = YamlNodes.Get(map, "entries");
            var kind = YamlNodes.Scalar(kindNode) switch
            {
                "allergies" => CdaEntryKind.Allergies,
                "medications" => CdaEntryKind.Medications,
                "problems" => CdaEntryKind.Problems,
                "history" => CdaEntryKind.History,
                "results" => CdaEntryKind.Results,
                "vital-signs" => CdaEntryKind.VitalSigns,
                "immunizations" => CdaEntryKind.Immunizations,
                "procedures" => CdaEntryKind.Procedures,
                "encounters" => CdaEntryKind.Encounters,
                _ => (CdaEntryKind?)null,
            };
            if (kind is null)
            {
                errors.Add(YamlNodes.At(file, kindNode ?? map, "entries: is one of allergies, medications, problems, history, results, vital-signs, immunizations, procedures, encounters"));
                return null;
            }
            var templateIds = Set(YamlNodes.Get(map, "templateIds")) ?? [];
            var codes = Set(YamlNodes.Get(map, "codes")) ?? [];
            if (templateIds.Count == 0 && codes.Count == 0)
            {
                errors.Add(YamlNodes.At(file, map, "a section needs templateIds: or codes:"));
                return null;
            }
            var report = YamlNodes.Scalar(YamlNodes.Get(map, "report")) is "true" or "yes";
            list.Add(new CdaSectionRule(kind.Value, templateIds, codes, report, YamlNodes.Scalar(YamlNodes.Get(map, "category")), file));
        }
        return list;
    }

    private static HashSet<string>? Set(YamlNode? node) => node switch
    {
        null => null,
        YamlSequenceNode seq => new HashSet<string>(seq.Select(YamlNodes.Scalar).OfType<string>(), StringComparer.Ordinal),
        _ when YamlNodes.Scalar(node) is { } one => new HashSet<string>(StringComparer.Ordinal) { one },
        _ => null,
    };
}
