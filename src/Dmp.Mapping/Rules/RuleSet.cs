using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Rules;

/// <summary>A rule as loaded: its name, file, what it matches, and every file it is made of.</summary>
public sealed record RuleInfo(string Id, string File, string Match, IReadOnlyList<string> SourceFiles);

/// <summary>Loading a rules folder gives a rule set, or the errors (file, line, column, reason) that stopped it.</summary>
public sealed record RuleSetLoadResult(RuleSet? Rules, IReadOnlyList<RuleError> Errors)
{
    public bool Success => Rules is not null;
}

/// <summary>Mapping one message with rules: the model records and notes, or the error that rejects the message.</summary>
public sealed record RuleMapResult(MappedMessage? Message, MapError? Error);

/// <summary>
/// The mapping rules of a folder (`mappings/`), compiled once: each rule's paths are parsed, tables and transforms
/// resolved to delegates, so mapping a message reads no YAML and uses no reflection. Immutable and thread-safe.
/// </summary>
public sealed class RuleSet
{
    private readonly CompiledRule[] _rules;
    private readonly CdaDocumentRule[] _documentRules;

    private RuleSet(string folder, CompiledRule[] rules, IReadOnlyList<string> files, IReadOnlyDictionary<string, CodeTable> tables, CdaDocumentRule[]? documentRules = null)
    {
        Folder = folder;
        _rules = rules;
        _documentRules = documentRules ?? [];
        Files = files;
        Tables = tables;
    }

    /// <summary>No rules: every message gets the generic reading (MessageHeader, Patient from PID) and a note.</summary>
    public static RuleSet Empty { get; } = new("", [], [], new Dictionary<string, CodeTable>());

    public string Folder { get; }

    /// <summary>Every YAML file of the folder, relative to it.</summary>
    public IReadOnlyList<string> Files { get; }

    public IReadOnlyDictionary<string, CodeTable> Tables { get; }

    public IReadOnlyList<RuleInfo> Rules => _rules.Select(r => new RuleInfo(r.Id, r.File, r.Describe(), r.SourceFiles)).ToList();

    /// <summary>The CDA document rules (`document:` files), most specific first.</summary>
    public IReadOnlyList<CdaDocumentRule> DocumentRules => _documentRules;

    /// <summary>The CDA rule for a document by its ClinicalDocument/code and templateIds, or null.</summary>
    public CdaDocumentRule? SelectDocument(string? code, IReadOnlyCollection<string> templateIds) =>
        Array.Find(_documentRules, r => r.Matches(code, templateIds));

    /// <summary>Loads and compiles every rule file under <paramref name="folder"/>.</summary>
    public static RuleSetLoadResult Load(string folder)
    {
        var errors = new List<RuleError>();
        if (!Directory.Exists(folder))
            return new RuleSetLoadResult(null, [new RuleError(folder, 1, 1, "no such rules folder")]);
        var loader = new RuleLoader(folder, errors);
        loader.LoadAll();
        if (errors.Count > 0)
            return new RuleSetLoadResult(null, errors);

        RuleSpec? ById(string id) => loader.Rules.Find(r => r.Id == id);
        foreach (var rule in loader.Rules.Where(r => r.Extends is null).Concat(loader.Rules.Where(r => r.Extends is not null)))
        {
            if (!loader.Resolve(rule, ById))
                return new RuleSetLoadResult(null, errors);
        }

        var compiled = new List<CompiledRule>();
        foreach (var rule in loader.Rules)
        {
            var compiler = new RuleCompiler(loader.Tables, errors);
            var records = new List<CompiledRecord>();
            foreach (var spec in rule.Records)
            {
                if (compiler.Record(spec) is { } record)
                    records.Add(record);
            }
            if (errors.Count > 0)
                return new RuleSetLoadResult(null, errors);
            foreach (var table in compiler.TableFiles)
                rule.SourceFiles.Add(table);
            compiled.Add(new CompiledRule(rule, [.. records], compiler.Segments, compiler.Fields));
        }
        var documentRules = loader.Cda.Compile(loader.Tables);
        if (errors.Count > 0)
            return new RuleSetLoadResult(null, errors);
        // The most specific rule wins: sender, then profile, then version, then triggers; ties by file name.
        var ordered = compiled.OrderByDescending(r => r.Specificity).ThenBy(r => r.File, StringComparer.Ordinal).ToArray();
        return new RuleSetLoadResult(new RuleSet(folder, ordered, loader.Files, loader.Tables, [.. documentRules]), []);
    }

    /// <summary>The rule that applies to a message, or null.</summary>
    public RuleInfo? Select(Hl7Message message)
    {
        var rule = Find(message);
        return rule is null ? null : new RuleInfo(rule.Id, rule.File, rule.Describe(), rule.SourceFiles);
    }

    /// <summary>
    /// True when a rule is written for this MSH-9 message code and trigger, whatever else it asks (version, profile,
    /// sender, content): the bounded message types a metric may name.
    /// </summary>
    public bool Knows(string messageCode, string? trigger) =>
        Array.Exists(_rules, r => string.Equals(r.MessageType, messageCode, StringComparison.Ordinal)
            && (r.Triggers is null || (trigger is not null && r.Triggers.Contains(trigger))));

    private CompiledRule? Find(Hl7Message message) =>
        _rules.Length == 0 ? null : Find(message, HeaderReader.Read("", message), "");

    /// <summary>
    /// The rule for a message already read by <see cref="HeaderReader"/> on <paramref name="channel"/>: MSH is not read
    /// twice, and the rule's sender (`MSH-3|MSH-4`) is compared with the part of <see cref="MessageInfo.Sender"/> after
    /// `channel/`.
    /// </summary>
    private CompiledRule? Find(Hl7Message message, MessageInfo info, string channel)
    {
        if (_rules.Length == 0)
            return null;
        bool? carriesCda = null;
        var type = info.MessageType;
        var trigger = info.TriggerEvent;
        var version = info.Version;
        foreach (var rule in _rules)
        {
            if (!string.Equals(rule.MessageType, type, StringComparison.Ordinal))
                continue;
            if (rule.Triggers is not null && (trigger is null || !rule.Triggers.Contains(trigger)))
                continue;
            if (rule.Version is not null && (version is null || !version.StartsWith(rule.Version, StringComparison.Ordinal)))
                continue;
            if (rule.Profile is not null)
            {
                var found = false;
                foreach (var p in info.Profiles)
                    found |= p.Contains(rule.Profile, StringComparison.Ordinal);
                if (!found)
                    continue;
            }
            if (rule.Sender is not null && !info.Sender.AsSpan(channel.Length + 1).SequenceEqual(rule.Sender))
                continue;
            // A document is recognised by what the message carries, whatever MSH-21 says (read once, only when a rule asks).
            if (rule.CarriesCda && !(carriesCda ??= CarriedCda.Carries(message)))
                continue;
            return rule;
        }
        return null;
    }

    /// <summary>Maps one message: the selected rule's records, or the generic reading with a note naming the missing rule.</summary>
    public RuleMapResult Map(Hl7Message message, string channel)
    {
        var info = HeaderReader.Read(channel, message);
        var rule = Find(message, info, channel);
        var run = new MapRun(message, info, rule?.Zone) { Rules = this };
        if (rule is null)
        {
            foreach (var pid in message.SegmentsNamed("PID"))
                run.Patients.Add(PatientReader.Read(pid));
            run.Notes.Add(new MappingNote(NoteSeverity.Information,
                $"no mapping rule for {info.MessageType}^{info.TriggerEvent} (v{info.Version}) yet: generic rules applied (MessageHeader{(run.Patients.Count > 0 ? ", Patient from PID" : "")})",
                MappingNoteCode.NoMappingRule));
            return new RuleMapResult(run.ToModel(null), null);
        }

        var scope = new MapScope(run, 0, run.SegmentCount, -1);
        try
        {
            foreach (var record in rule.Records)
            {
                Execute(record, scope, null);
                if (run.Error is not null)
                    return new RuleMapResult(null, run.Error);
            }
        }
        finally
        {
            run.Release();
        }
        var seen = 0;
        for (var i = 0; i < run.SegmentCount; i++)
        {
            var key = run.KeyAt(i);
            if (key >> 16 == 'Z' && key != seen && !rule.SegmentKeys.Contains(key))
            {
                var id = run.IdAt(i);
                run.Notes.Add(new MappingNote(NoteSeverity.Information, $"segment {id} (segment {i + 1}) kept as received: rule {rule.Id} does not map it"));
                seen = key;
            }
        }
        return new RuleMapResult(run.ToModel(rule.Id), null);
    }

    private static void Execute(CompiledRecord record, in MapScope parent, List<object>? sink)
    {
        var run = parent.Run;
        if (record.Each is null)
        {
            Produce(record, parent, sink);
            return;
        }
        var each = record.EachKey;
        for (var i = parent.Start; i < parent.End; i++)
        {
            if (run.KeyAt(i) != each)
                continue;
            var end = parent.End;
            if (record.GroupMemberKeys is { } members)
            {
                end = i + 1;
                while (end < parent.End && Array.IndexOf(members, run.KeyAt(end)) >= 0)
                    end++;
            }
            var scope = record.GroupMemberKeys is null ? parent with { Current = i } : new MapScope(run, i, end, i);
            if (record.When is { } when && !when(scope))
                continue;
            Produce(record, scope, sink);
            if (run.Error is not null)
                return;
        }
    }

    private static void Produce(CompiledRecord record, in MapScope scope, List<object>? sink)
    {
        var slots = new object?[record.Kind.Fields.Length];
        foreach (var (slot, read) in record.Fields)
            slots[slot] = read(scope);
        List<object>? children = null;
        if (record.Children.Length > 0)
        {
            children = [];
            foreach (var child in record.Children)
                Execute(child, scope, children);
        }
        if (scope.Run.Error is not null)
            return;
        var built = record.Kind.Build(new RecordInput(slots, children, scope.Run, scope.Current));
        if (built is null)
            return;
        if (sink is not null)
            sink.Add(built);
        else
            scope.Run.Add(built);
    }

    /// <summary>The non-empty fields of a message its rule reads (`PID-3`, `PV1-2`), in message order: the other half of <see cref="Unused"/>.</summary>
    public IReadOnlyList<string> Read(Hl7Message message)
    {
        var rule = Find(message);
        var result = new List<string>();
        if (rule is null)
            return result;
        for (var i = 0; i < message.SegmentCount; i++)
        {
            var segment = message.GetSegment(i);
            var id = segment.Id;
            if (id == "MSH" || !rule.Segments.Contains(id))
                continue;
            for (var f = 1; f <= segment.FieldCount; f++)
            {
                var name = $"{id}-{f}";
                if (!segment.GetField(f).IsEmpty && rule.Fields.Contains((id, f)) && !result.Contains(name))
                    result.Add(name);
            }
        }
        return result;
    }

    /// <summary>What no rule reads in a message: whole segments, then non-empty fields of read segments (`PID-13`).</summary>
    public IReadOnlyList<string> Unused(Hl7Message message)
    {
        var rule = Find(message);
        var result = new List<string>();
        for (var i = 0; i < message.SegmentCount; i++)
        {
            var segment = message.GetSegment(i);
            var id = segment.Id;
            if (id == "MSH")
                continue;
            if (rule is null || !rule.Segments.Contains(id))
            {
                result.Add($"segment {i + 1} {id}: no rule reads it");
                continue;
            }
            List<string>? fields = null;
            for (var f = 1; f <= segment.FieldCount; f++)
            {
                if (!segment.GetField(f).IsEmpty && !rule.Fields.Contains((id, f)))
                    (fields ??= []).Add($"{id}-{f}");
            }
            if (fields is not null)
                result.Add($"segment {i + 1} {id}: {string.Join(", ", fields)} not read");
        }
        if (rule is null)
            result.Insert(0, $"no rule for {message.MessageType}^{message.TriggerEvent}: only the generic reading applies (PID)");
        else if (rule.ReadsDocuments)
            result.AddRange(DocumentExtras.Lines(message, rule.Id, rule.CarriesCda && rule.Profile is null, Tables.GetValueOrDefault("metadmpmss-flags")));
        return result;
    }

    private sealed class CompiledRule(RuleSpec spec, CompiledRecord[] records, HashSet<string> segments, HashSet<(string, int)> fields)
    {
        public string Id { get; } = spec.Id;
        public string File { get; } = spec.File;
        public string? MessageType { get; } = spec.MessageType;
        public HashSet<string>? Triggers { get; } = spec.Triggers;
        public string? Version { get; } = spec.Version;
        public string? Profile { get; } = spec.Profile;
        public string? Sender { get; } = spec.Sender;
        public bool CarriesCda { get; } = spec.Carries == "cda";
        public TimeZoneInfo? Zone { get; } = spec.Zone;
        public CompiledRecord[] Records { get; } = records;
        public HashSet<string> Segments { get; } = segments;
        /// <summary><see cref="Segments"/> as segment keys, for the per-message check of unmapped Z-segments.</summary>
        public HashSet<int> SegmentKeys { get; } = [.. segments.Where(id => id.Length == 3).Select(id => Hl7Scan.Key(id))];
        public HashSet<(string, int)> Fields { get; } = fields;
        /// <summary>The rule makes documents (a `document` record): `map --explain` says what the document OBX and PRT carry that is not kept.</summary>
        public bool ReadsDocuments { get; } = records.Any(r => r.Kind.Name == "document");
        public IReadOnlyList<string> SourceFiles { get; } = [.. spec.SourceFiles];

        /// <summary>
        /// Sender 8, profile 4, content (`carries: cda`) 3, version 2, triggers 1: a rule naming the profile refines one that
        /// only recognises the document by content, which itself wins over a rule for the message type alone.
        /// </summary>
        public int Specificity =>
            (Sender is null ? 0 : 8) + (Profile is null ? 0 : 4) + (CarriesCda ? 3 : 0) + (Version is null ? 0 : 2) + (Triggers is null ? 0 : 1);

        public string Describe() =>
            $"{MessageType}{(Triggers is null ? "" : "^" + string.Join('|', Triggers.Order(StringComparer.Ordinal)))}"
            + (Version is null ? "" : $" v{Version}") + (Profile is null ? "" : $" profile {Profile}") + (CarriesCda ? " carrying a CDA" : "") + (Sender is null ? "" : $" sender {Sender}");
    }
}
