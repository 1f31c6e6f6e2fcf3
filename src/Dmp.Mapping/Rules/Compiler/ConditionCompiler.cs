using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>
/// Compiles the rule language's conditions (`when:`, `from: { where: }`) into predicates over a message scope:
/// `{ path, equals | not-equals | in | in-table | not-in-table | present | carries }`, combined with `all:`, `any:` and `not:`.
/// </summary>
internal sealed class ConditionCompiler(RuleCompilation compilation)
{
    public Predicate? Condition(string file, YamlNode node)
    {
        if (node is not YamlMappingNode map)
            return compilation.Fail<Predicate>(file, node, "a condition is a mapping: { path: P, equals: V } / in: / in-table: / not-in-table: / present: , or all: / any: / not:");
        if (YamlNodes.Get(map, "all") is { } all)
        {
            if (!compilation.CheckKeys(file, map, ["all"]))
                return null;
            var parts = Conditions(file, all);
            return parts is null ? null : (in MapScope s) =>
            {
                foreach (var p in parts)
                {
                    if (!p(s))
                        return false;
                }
                return true;
            };
        }
        if (YamlNodes.Get(map, "any") is { } any)
        {
            if (!compilation.CheckKeys(file, map, ["any"]))
                return null;
            var parts = Conditions(file, any);
            return parts is null ? null : (in MapScope s) =>
            {
                foreach (var p in parts)
                {
                    if (p(s))
                        return true;
                }
                return false;
            };
        }
        if (YamlNodes.Get(map, "not") is { } not)
        {
            if (!compilation.CheckKeys(file, map, ["not"]))
                return null;
            var inner = Condition(file, not);
            return inner is null ? null : (in MapScope s) => !inner(s);
        }
        if (!compilation.CheckKeys(file, map, ["path", "equals", "not-equals", "in", "in-table", "not-in-table", "present", "carries"]))
            return null;
        if (YamlNodes.Get(map, "path") is not YamlScalarNode pathNode)
            return compilation.Fail<Predicate>(file, map, "a condition needs path: (or all:, any:, not:)");
        if (compilation.Path(file, pathNode) is not { } path)
            return null;
        var text = FieldReaderCompiler.PathText(path);
        if (YamlNodes.Get(map, "equals") is { } eq)
        {
            var expected = YamlNodes.Scalar(eq);
            return expected is null ? compilation.Fail<Predicate>(file, eq, "equals: is a scalar") : (in MapScope s) => string.Equals(text(s), expected, StringComparison.Ordinal);
        }
        if (YamlNodes.Get(map, "not-equals") is { } ne)
        {
            var expected = YamlNodes.Scalar(ne);
            return expected is null ? compilation.Fail<Predicate>(file, ne, "not-equals: is a scalar") : (in MapScope s) => !string.Equals(text(s), expected, StringComparison.Ordinal);
        }
        if (YamlNodes.Get(map, "in") is { } inNode)
        {
            if (inNode is not YamlSequenceNode seq)
                return compilation.Fail<Predicate>(file, inNode, "in: is a list of values");
            var set = new HashSet<string>(seq.Select(YamlNodes.Scalar).OfType<string>(), StringComparer.Ordinal);
            return (in MapScope s) => text(s) is { } v && set.Contains(v);
        }
        if (YamlNodes.Get(map, "in-table") is { } it)
        {
            var table = compilation.Table(file, it);
            return table is null ? null : (in MapScope s) => text(s) is { } v && table.Contains(v);
        }
        if (YamlNodes.Get(map, "not-in-table") is { } nit)
        {
            var table = compilation.Table(file, nit);
            return table is null ? null : (in MapScope s) => text(s) is not { } v || !table.Contains(v);
        }
        if (YamlNodes.Get(map, "present") is { } present)
        {
            var want = YamlNodes.Scalar(present) switch { "true" => true, "false" => false, _ => (bool?)null };
            return want is not { } w ? compilation.Fail<Predicate>(file, present, "present: is true or false") : (in MapScope s) => text(s) is not null == w;
        }
        if (YamlNodes.Get(map, "carries") is { } carries)
        {
            // { path: OBX-5, carries: cda }: the ED at the path holds a CDA R2 ClinicalDocument (Base64 or not).
            return YamlNodes.Scalar(carries) != "cda"
                ? compilation.Fail<Predicate>(file, carries, "carries: takes one value, cda (the ED at path: holds a CDA R2 ClinicalDocument)")
                : (in MapScope s) => FieldReaderCompiler.Locate(s, path, false) is { IsEmpty: false } e && CarriedCda.IsCda(e.AsEd());
        }
        return compilation.Fail<Predicate>(file, map, "a condition needs one of equals:, not-equals:, in:, in-table:, not-in-table:, present:, carries:");
    }

    private Predicate[]? Conditions(string file, YamlNode node)
    {
        if (node is not YamlSequenceNode seq || seq.Children.Count == 0)
            return compilation.Fail<Predicate[]>(file, node, "all: and any: take a list of conditions");
        var list = new List<Predicate>();
        foreach (var item in seq)
        {
            var p = Condition(file, item);
            if (p is null)
                return null;
            list.Add(p);
        }
        return [.. list];
    }
}
