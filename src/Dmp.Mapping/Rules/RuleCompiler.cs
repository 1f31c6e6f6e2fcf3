using Dmp.Mapping.Hl7v2;
using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>A record mapping compiled: where it iterates, its condition, and a reader per model field.</summary>
internal sealed class CompiledRecord
{
    public required RecordKind Kind { get; init; }
    public string? Each { get; init; }
    /// <summary><see cref="Each"/> as its segment key (0 when the record does not iterate).</summary>
    public int EachKey { get; init; }
    public HashSet<string>? GroupMembers { get; init; }
    /// <summary><see cref="GroupMembers"/> as segment keys: a group's end is found by comparing ints.</summary>
    public int[]? GroupMemberKeys { get; init; }
    public Predicate? When { get; init; }
    public required (int Slot, ValueReader Read)[] Fields { get; init; }
    public required CompiledRecord[] Children { get; init; }
}

/// <summary>
/// Compiles a rule's record specs into delegates once: where each record iterates (`each:` a segment or a group), its
/// condition (<see cref="ConditionCompiler"/>) and a reader per model field (<see cref="ValueCompiler"/>). Paths are
/// parsed with <see cref="Hl7Path.TryParse"/>, tables resolved; every mistake is a <see cref="RuleError"/> with the
/// file, line and column. What the rule reads is gathered in <see cref="Segments"/>, <see cref="Fields"/> and <see cref="TableFiles"/>.
/// </summary>
internal sealed class RuleCompiler
{
    private readonly RuleCompilation _compilation;
    private readonly ConditionCompiler _conditions;
    private readonly ValueCompiler _values;

    public RuleCompiler(IReadOnlyDictionary<string, CodeTable> tables, List<RuleError> errors)
    {
        _compilation = new RuleCompilation(tables, errors);
        _conditions = new ConditionCompiler(_compilation);
        _values = new ValueCompiler(_compilation, _conditions, new FieldReaderCompiler(_compilation, _conditions));
    }

    public HashSet<string> Segments => _compilation.Segments;
    public HashSet<(string Segment, int Field)> Fields => _compilation.Fields;
    public SortedSet<string> TableFiles => _compilation.TableFiles;

    public CompiledRecord? Record(RecordSpec spec)
    {
        if (!RecordKinds.All.TryGetValue(spec.Kind, out var kind))
            return _compilation.Fail<CompiledRecord>(spec.File, spec.Node, $"unknown record '{spec.Kind}' (known: {string.Join(", ", RecordKinds.All.Keys)})");

        string? each = null;
        HashSet<string>? members = null;
        if (spec.Each is YamlScalarNode eachScalar)
        {
            if (!RuleCompilation.IsSegmentId(eachScalar.Value))
                return _compilation.Fail<CompiledRecord>(spec.EachFile, eachScalar, $"each: '{eachScalar.Value}' is not a segment id (3 upper-case letters or digits)");
            each = eachScalar.Value!;
        }
        else if (spec.Each is YamlMappingNode group)
        {
            if (!_compilation.CheckKeys(spec.EachFile, group, ["group", "members"]))
                return null;
            var start = YamlNodes.Scalar(YamlNodes.Get(group, "group"));
            if (start is null || !RuleCompilation.IsSegmentId(start))
                return _compilation.Fail<CompiledRecord>(spec.EachFile, group, "each: { group: SEG, members: [SEG …] } needs a segment id in group:");
            each = start;
            members = new HashSet<string>(StringComparer.Ordinal);
            if (YamlNodes.Get(group, "members") is YamlSequenceNode list)
            {
                foreach (var m in list)
                {
                    var id = YamlNodes.Scalar(m);
                    if (id is null || !RuleCompilation.IsSegmentId(id))
                        return _compilation.Fail<CompiledRecord>(spec.EachFile, m, "members: lists segment ids");
                    members.Add(id);
                    _compilation.Segments.Add(id);
                }
            }
            else if (YamlNodes.Get(group, "members") is { } bad)
            {
                return _compilation.Fail<CompiledRecord>(spec.EachFile, bad, "members: is a list of segment ids");
            }
        }
        else if (spec.Each is { } other)
        {
            return _compilation.Fail<CompiledRecord>(spec.EachFile, other, "each: is a segment id or { group: SEG, members: [...] }");
        }
        if (each is not null)
            _compilation.Segments.Add(each);

        Predicate? when = null;
        if (spec.When is { } whenNode)
        {
            when = _conditions.Condition(spec.WhenFile, whenNode);
            if (when is null)
                return null;
        }

        var fields = new List<(int, ValueReader)>(spec.Fields.Count);
        foreach (var field in spec.Fields)
        {
            if (!kind.TryGetSlot(field.Name, out var slot, out var shape))
                return _compilation.Fail<CompiledRecord>(field.File, field.KeyNode, $"{kind.Name} has no field '{field.Name}' (fields: {string.Join(", ", kind.Fields.Select(f => f.Field))})");
            var reader = _values.Compile(field, shape);
            if (reader is null)
                return null;
            fields.Add((slot, reader));
        }

        var children = new List<CompiledRecord>(spec.Children.Count);
        foreach (var child in spec.Children)
        {
            var compiled = Record(child);
            if (compiled is null)
                return null;
            children.Add(compiled);
        }
        return new CompiledRecord
        {
            Kind = kind,
            Each = each,
            EachKey = each is null ? 0 : Hl7Scan.Key(each),
            GroupMembers = members,
            GroupMemberKeys = members?.Select(m => Hl7Scan.Key(m)).ToArray(),
            When = when,
            Fields = [.. fields],
            Children = [.. children],
        };
    }
}
