using Dmp.Mapping.Hl7v2;
using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

internal delegate object? ValueReader(in MapScope scope);
internal delegate bool Predicate(in MapScope scope);
internal delegate string? TextSource(in MapScope scope);

/// <summary>
/// What compiling one rule shares between its compilers: the tables it may name, where its mistakes go (file, line,
/// column), and what it reads — segments, fields and table files — for `map --explain` and the rule's source files.
/// </summary>
internal sealed class RuleCompilation(IReadOnlyDictionary<string, CodeTable> tables, List<RuleError> errors)
{
    public IReadOnlyDictionary<string, CodeTable> Tables => tables;
    public HashSet<string> Segments { get; } = new(StringComparer.Ordinal);
    public HashSet<(string Segment, int Field)> Fields { get; } = [];
    public SortedSet<string> TableFiles { get; } = new(StringComparer.Ordinal);

    /// <summary>An HL7 path (`PID-3[2].4.2`), recorded as read; null (and an error) when it does not parse.</summary>
    public Hl7Path? Path(string file, YamlScalarNode node)
    {
        if (!Hl7Path.TryParse(node.Value, out var path, out var error))
        {
            Fail<object>(file, node, $"bad HL7 path '{node.Value}': {error}");
            return null;
        }
        Segments.Add(path.SegmentId);
        Fields.Add((path.SegmentId, path.Field));
        return path;
    }

    /// <summary>A table named by a scalar, recorded as a source file; null (and an error) when there is no such table.</summary>
    public CodeTable? Table(string file, YamlNode node)
    {
        var name = YamlNodes.Scalar(node);
        if (name is null || !tables.TryGetValue(name, out var table))
        {
            Fail<object>(file, node, name is null ? "a table is named by a scalar" : $"unknown table '{name}' (tables: {string.Join(", ", tables.Keys.Order(StringComparer.Ordinal))})");
            return null;
        }
        TableFiles.Add(table.File);
        return table;
    }

    /// <summary>The table a rule uses without naming it (`coding-systems`, `assigning-authorities`), recorded as a source file when present.</summary>
    public CodeTable? DefaultTable(string name)
    {
        var table = tables.GetValueOrDefault(name);
        if (table is not null)
            TableFiles.Add(table.File);
        return table;
    }

    public bool CheckKeys(string file, YamlMappingNode map, IReadOnlyCollection<string> allowed) =>
        YamlNodes.CheckKeys(errors, file, map, allowed);

    /// <summary>Records an error at <paramref name="node"/> and returns null, so a compiler can `return Fail&lt;T&gt;(…)`.</summary>
    public T? Fail<T>(string file, YamlNode node, string reason) where T : class
    {
        errors.Add(YamlNodes.At(file, node, reason));
        return null;
    }

    public static bool IsSegmentId(string? s) =>
        s is { Length: 3 } && s.All(c => c is >= 'A' and <= 'Z' or >= '0' and <= '9');

    public static bool LooksLikePath(string text) =>
        text.Length >= 5 && IsSegmentId(text[..3]) && (text[3] == '-' || text[3] == '[');
}
