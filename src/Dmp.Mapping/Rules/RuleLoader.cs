using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>Reads the files of a rules folder into specs: rules, partials and code tables, errors with positions.</summary>
internal sealed class RuleLoader(string root, List<RuleError> errors)
{
    private static readonly string[] RuleKeys = ["rule", "description", "when", "zone", "include", "extends", "records"];
    private static readonly string[] WhenKeys = ["message", "triggers", "version", "profile", "sender", "carries"];
    private static readonly string[] RecordKeys = ["record", "name", "each", "when", "fields", "records"];
    private static readonly string[] PartialKeys = ["partial", "description", "records"];
    private static readonly string[] TableKeys = ["table", "description", "default", "entries"];

    public Dictionary<string, CodeTable> Tables { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, (string File, List<RecordSpec> Records)> Partials { get; } = new(StringComparer.Ordinal);
    public List<RuleSpec> Rules { get; } = [];
    public List<string> Files { get; } = [];

    /// <summary>CDA document rules and section files (`document:`, `cda-sections:`), compiled after the tables.</summary>
    public CdaRuleLoader Cda { get; } = new(errors);


    public void LoadAll()
    {
        var files = Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Select(f => (Full: f, Relative: Path.GetRelativePath(root, f).Replace('\\', '/')))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .ToList();
        foreach (var (full, relative) in files)
        {
            Files.Add(relative);
            if (!YamlNodes.TryLoad(full, relative, out var doc, out var error))
            {
                errors.Add(error!);
                continue;
            }
            if (YamlNodes.Get(doc!, "table") is not null)
                LoadTable(relative, doc!);
            else if (YamlNodes.Get(doc!, "partial") is not null)
                LoadPartial(relative, doc!);
            else if (YamlNodes.Get(doc!, "rule") is not null)
                LoadRule(relative, doc!);
            else if (CdaRuleLoader.IsCdaFile(doc!))
                Cda.Load(relative, doc!);
            else
                errors.Add(YamlNodes.At(relative, doc!, "a rules file starts with `rule:`, `partial:`, `table:`, `document:` or `cda-sections:`"));
        }
    }

    private void LoadTable(string file, YamlMappingNode doc)
    {
        if (!YamlNodes.CheckKeys(errors, file, doc, TableKeys))
            return;
        var name = YamlNodes.Scalar(YamlNodes.Get(doc, "table"));
        if (string.IsNullOrWhiteSpace(name))
        {
            errors.Add(YamlNodes.At(file, YamlNodes.Get(doc, "table")!, "table: needs a name"));
            return;
        }
        if (Tables.TryGetValue(name, out var existing))
        {
            errors.Add(YamlNodes.At(file, doc, $"table '{name}' is already defined in {existing.File}"));
            return;
        }
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        if (YamlNodes.Get(doc, "entries") is not YamlMappingNode map)
        {
            errors.Add(YamlNodes.At(file, YamlNodes.Get(doc, "entries") ?? doc, "entries: is a mapping from source code to target code"));
            return;
        }
        foreach (var pair in map.Children)
        {
            var key = YamlNodes.Scalar(pair.Key);
            var value = YamlNodes.Scalar(pair.Value);
            if (key is null || value is null)
            {
                errors.Add(YamlNodes.At(file, pair.Value, "table entries are `code: target` scalars"));
                return;
            }
            entries[key] = value;
        }
        var fallback = YamlNodes.Get(doc, "default") is { } d ? YamlNodes.Scalar(d) : null;
        Tables[name] = new CodeTable(name, file, entries, fallback);
    }

    private void LoadPartial(string file, YamlMappingNode doc)
    {
        if (!YamlNodes.CheckKeys(errors, file, doc, PartialKeys))
            return;
        var records = Records(file, YamlNodes.Get(doc, "records"), requireKind: true);
        if (records is not null)
            Partials[file] = (file, records);
    }

    private void LoadRule(string file, YamlMappingNode doc)
    {
        if (!YamlNodes.CheckKeys(errors, file, doc, RuleKeys))
            return;
        var id = YamlNodes.Scalar(YamlNodes.Get(doc, "rule"));
        if (string.IsNullOrWhiteSpace(id))
        {
            errors.Add(YamlNodes.At(file, YamlNodes.Get(doc, "rule")!, "rule: needs a name"));
            return;
        }
        if (Rules.Find(r => r.Id == id) is { } existing)
        {
            errors.Add(YamlNodes.At(file, YamlNodes.Get(doc, "rule")!, $"rule '{id}' is already defined in {existing.File}"));
            return;
        }
        var extendsNode = YamlNodes.Get(doc, "extends");
        var spec = new RuleSpec
        {
            Id = id,
            File = file,
            Node = doc,
            Description = YamlNodes.Scalar(YamlNodes.Get(doc, "description")),
            Extends = YamlNodes.Scalar(extendsNode),
            ExtendsNode = extendsNode,
        };
        if (YamlNodes.Get(doc, "zone") is { } zoneNode)
        {
            try
            {
                spec.Zone = TimeZoneInfo.FindSystemTimeZoneById(YamlNodes.Scalar(zoneNode) ?? "");
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                errors.Add(YamlNodes.At(file, zoneNode, $"zone: unknown time zone '{YamlNodes.Scalar(zoneNode)}' (use an IANA id such as Europe/Paris)"));
                return;
            }
        }
        if (YamlNodes.Get(doc, "when") is { } when)
        {
            if (when is not YamlMappingNode w || !YamlNodes.CheckKeys(errors, file, w, WhenKeys))
            {
                if (when is not YamlMappingNode)
                    errors.Add(YamlNodes.At(file, when, "when: is a mapping (message, triggers, version, profile, sender, carries)"));
                return;
            }
            spec.MessageType = YamlNodes.Scalar(YamlNodes.Get(w, "message"));
            spec.Version = YamlNodes.Scalar(YamlNodes.Get(w, "version"));
            spec.Profile = YamlNodes.Scalar(YamlNodes.Get(w, "profile"));
            spec.Sender = YamlNodes.Scalar(YamlNodes.Get(w, "sender"));
            if (YamlNodes.Get(w, "carries") is { } carries)
            {
                if (YamlNodes.Scalar(carries) != "cda")
                {
                    errors.Add(YamlNodes.At(file, carries, "carries: takes one value, cda (a CDA R2 ClinicalDocument in an OBX of type ED)"));
                    return;
                }
                spec.Carries = "cda";
            }
            if (YamlNodes.Get(w, "triggers") is { } t)
            {
                if (t is YamlSequenceNode seq)
                    spec.Triggers = new HashSet<string>(seq.Select(YamlNodes.Scalar).OfType<string>(), StringComparer.Ordinal);
                else if (YamlNodes.Scalar(t) is { } one)
                    spec.Triggers = new HashSet<string>(StringComparer.Ordinal) { one };
            }
        }
        else if (spec.Extends is null)
        {
            errors.Add(YamlNodes.At(file, doc, "a rule needs when: (at least message:)"));
            return;
        }
        if (spec.Extends is null && spec.MessageType is null)
        {
            errors.Add(YamlNodes.At(file, YamlNodes.Get(doc, "when") ?? doc, "when: needs message: (MSH-9.1, e.g. ADT)"));
            return;
        }
        if (YamlNodes.Get(doc, "include") is { } include)
        {
            if (include is not YamlSequenceNode seq)
            {
                errors.Add(YamlNodes.At(file, include, "include: is a list of partial files (e.g. partials/patient.yaml)"));
                return;
            }
            foreach (var item in seq)
            {
                if (YamlNodes.Scalar(item) is not { } path)
                {
                    errors.Add(YamlNodes.At(file, item, "include: items are file paths relative to the rules folder"));
                    return;
                }
                spec.Includes.Add((path, item));
            }
        }
        var records = Records(file, YamlNodes.Get(doc, "records"), requireKind: spec.Extends is null);
        if (records is null)
            return;
        if (spec.Extends is null)
            spec.Records.AddRange(records);
        else
            spec.Overrides.AddRange(records);
        Rules.Add(spec);
    }

    private List<RecordSpec>? Records(string file, YamlNode? node, bool requireKind)
    {
        var list = new List<RecordSpec>();
        if (node is null)
            return list;
        if (node is not YamlSequenceNode seq)
        {
            errors.Add(YamlNodes.At(file, node, "records: is a list of record mappings"));
            return null;
        }
        foreach (var item in seq)
        {
            if (item is not YamlMappingNode map)
            {
                errors.Add(YamlNodes.At(file, item, "a record is a mapping (record:, each:, fields: …)"));
                return null;
            }
            if (!YamlNodes.CheckKeys(errors, file, map, RecordKeys))
                return null;
            var kind = YamlNodes.Scalar(YamlNodes.Get(map, "record"));
            var name = YamlNodes.Scalar(YamlNodes.Get(map, "name")) ?? kind;
            if (kind is null && requireKind)
            {
                errors.Add(YamlNodes.At(file, map, $"a record needs record: (one of {string.Join(", ", RecordKinds.All.Keys)})"));
                return null;
            }
            if (name is null)
            {
                errors.Add(YamlNodes.At(file, map, "an override names the record it changes (name: or record:)"));
                return null;
            }
            var spec = new RecordSpec
            {
                File = file,
                Node = map,
                Kind = kind ?? "",
                Name = name,
                Each = YamlNodes.Get(map, "each"),
                EachFile = file,
                When = YamlNodes.Get(map, "when"),
                WhenFile = file,
            };
            if (YamlNodes.Get(map, "fields") is { } fields)
            {
                if (fields is not YamlMappingNode fm)
                {
                    errors.Add(YamlNodes.At(file, fields, "fields: maps model fields to HL7 paths or value mappings"));
                    return null;
                }
                foreach (var pair in fm.Children)
                {
                    if (pair.Key is not YamlScalarNode key || key.Value is null)
                    {
                        errors.Add(YamlNodes.At(file, pair.Key, "field names are scalars"));
                        return null;
                    }
                    spec.Fields.Add(new FieldSpec(key.Value, key, pair.Value, file));
                }
            }
            var children = Records(file, YamlNodes.Get(map, "records"), requireKind);
            if (children is null)
                return null;
            spec.Children.AddRange(children);
            list.Add(spec);
        }
        return list;
    }

    /// <summary>Resolves `extends:` (base records then the override's changes) and `include:` (partials' records first).</summary>
    public bool Resolve(RuleSpec rule, Func<string, RuleSpec?> byId)
    {
        rule.SourceFiles.Add(rule.File);
        if (rule.Extends is { } baseId)
        {
            var parent = byId(baseId);
            if (parent is null || parent.Extends is not null)
            {
                errors.Add(YamlNodes.At(rule.File, rule.ExtendsNode!, parent is null ? $"extends: unknown rule '{baseId}'" : $"extends: '{baseId}' is itself an override: extend its base rule"));
                return false;
            }
            rule.MessageType ??= parent.MessageType;
            rule.Triggers ??= parent.Triggers;
            rule.Version ??= parent.Version;
            rule.Profile ??= parent.Profile;
            rule.Sender ??= parent.Sender;
            rule.Carries ??= parent.Carries;
            rule.Zone ??= parent.Zone;
            foreach (var f in parent.SourceFiles)
                rule.SourceFiles.Add(f);
            var records = parent.Records.Select(r => r.Clone()).ToList();
            foreach (var change in rule.Overrides)
            {
                var target = records.Find(r => r.Name == change.Name);
                if (target is null)
                {
                    if (change.Kind.Length == 0)
                    {
                        errors.Add(YamlNodes.At(change.File, change.Node, $"the base rule '{baseId}' has no record named '{change.Name}' (add record: to add one)"));
                        return false;
                    }
                    records.Add(change);
                    continue;
                }
                if (change.Kind.Length > 0)
                    target.Kind = change.Kind;
                if (change.Each is not null)
                {
                    target.Each = change.Each;
                    target.EachFile = change.File;
                }
                if (change.When is not null)
                {
                    target.When = change.When;
                    target.WhenFile = change.File;
                }
                foreach (var field in change.Fields)
                {
                    var i = target.Fields.FindIndex(f => f.Name == field.Name);
                    if (i >= 0)
                        target.Fields[i] = field;
                    else
                        target.Fields.Add(field);
                }
                target.Children.AddRange(change.Children);
            }
            rule.Records.AddRange(records);
        }
        var included = new List<RecordSpec>();
        foreach (var (path, node) in rule.Includes)
        {
            if (!Partials.TryGetValue(path, out var partial))
            {
                errors.Add(YamlNodes.At(rule.File, node, $"include: no partial file '{path}' (partials start with `partial:`)"));
                return false;
            }
            rule.SourceFiles.Add(partial.File);
            included.AddRange(partial.Records.Select(r => r.Clone()));
        }
        rule.Records.InsertRange(0, included);
        return true;
    }
}
