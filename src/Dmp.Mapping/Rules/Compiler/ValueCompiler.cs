using Dmp.Mapping.Hl7v2;
using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>
/// Compiles one model field's value (`field: PID-5` or `field: { path | value | concat | agree | collect, table, default,
/// when, zone, layout, authorities, systems }`) into a reader: options are checked against the field's shape first, then
/// the one source is compiled (a path through <see cref="FieldReaderCompiler"/>, a constant, a concatenation, signals
/// that must agree, or key/value pairs collected from repeated segments).
/// </summary>
internal sealed class ValueCompiler(RuleCompilation compilation, ConditionCompiler conditions, FieldReaderCompiler readers)
{
    private static readonly HashSet<string> FieldKeys = new(StringComparer.Ordinal)
    {
        "path", "value", "concat", "agree", "collect", "key", "from", "table", "default", "when", "zone", "layout", "authorities", "systems",
    };

    private static readonly string[] SourceKeys = ["path", "value", "concat", "agree"];

    /// <summary>What a field mapping asks besides its source: identifier layout, tables, time zone and default.</summary>
    private readonly record struct FieldOptions(IdLayout Layout, CodeTable? Table, CodeTable? Authorities, CodeTable? Systems, TimeZoneInfo? Zone, string? Fallback);

    public ValueReader? Compile(FieldSpec field, Shape shape)
    {
        var file = field.File;
        var what = $"{field.Name} ({Shapes.Describe(shape)})";
        if (field.Value is YamlScalarNode scalar)
        {
            var path = compilation.Path(file, scalar);
            return path is null ? null : readers.Structured(file, scalar, path.Value, shape, what, null, null, null, null, IdLayout.Cx);
        }
        if (field.Value is not YamlMappingNode map)
            return compilation.Fail<ValueReader>(file, field.Value, $"{field.Name}: expected an HL7 path or a mapping (path:, value:, concat: …)");
        if (!compilation.CheckKeys(file, map, FieldKeys))
            return null;

        Predicate? when = null;
        if (YamlNodes.Get(map, "when") is { } whenNode && (when = conditions.Condition(file, whenNode)) is null)
            return null;

        if (YamlNodes.Get(map, "collect") is { } collectNode)
        {
            if (shape != Shape.Map)
                return compilation.Fail<ValueReader>(file, collectNode, $"collect: fills key/value fields, but {what} is not one");
            return Guard(Collect(file, map, collectNode), when);
        }
        if (shape == Shape.Map)
            return compilation.Fail<ValueReader>(file, map, $"{what} is filled with collect: SEG, key: PATH, value: PATH");

        if (Options(file, map, shape, what) is not { } options)
            return null;
        var sources = SourceKeys.Count(key => YamlNodes.Get(map, key) is not null);
        if (sources > 1)
            return compilation.Fail<ValueReader>(file, map, $"{field.Name}: give one of path:, value:, concat:, agree:");
        if (sources == 0 && options.Fallback is null)
            return compilation.Fail<ValueReader>(file, map, $"{field.Name}: give path:, value:, concat:, agree: or default:");

        var reader = Shapes.IsTextual(shape) ? Textual(file, map, shape, field.Name, options) : Structured(file, map, shape, what, options);
        return reader is null ? null : Guard(reader, when);
    }

    /// <summary>The options, each checked against the field's shape; null (and an error) at the first that does not fit.</summary>
    private FieldOptions? Options(string file, YamlMappingNode map, Shape shape, string what)
    {
        var layout = IdLayout.Cx;
        if (YamlNodes.Get(map, "layout") is { } layoutNode)
        {
            IdLayout? named = YamlNodes.Scalar(layoutNode) switch
            {
                "cx" => IdLayout.Cx,
                "ei" => IdLayout.Ei,
                "xon" => IdLayout.Xon,
                "hd" => IdLayout.Hd,
                _ => null,
            };
            if (named is not { } known)
                return Fail(file, layoutNode, "layout: is one of cx, ei, xon, hd");
            if (shape is not (Shape.Identifier or Shape.Identifiers))
                return Fail(file, layoutNode, $"layout: applies to identifiers, not to {what}");
            layout = known;
        }

        CodeTable? table = null, authorities = null, systems = null;
        if (YamlNodes.Get(map, "table") is { } tableNode && (table = compilation.Table(file, tableNode)) is null)
            return null;
        if (YamlNodes.Get(map, "authorities") is { } authNode && (authorities = compilation.Table(file, authNode)) is null)
            return null;
        if (YamlNodes.Get(map, "systems") is { } sysNode && (systems = compilation.Table(file, sysNode)) is null)
            return null;

        TimeZoneInfo? zone = null;
        if (YamlNodes.Get(map, "zone") is { } zoneNode)
        {
            if (shape != Shape.Date)
                return Fail(file, zoneNode, $"zone: applies to dates, not to {what}");
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(YamlNodes.Scalar(zoneNode) ?? "");
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                return Fail(file, zoneNode, $"zone: unknown time zone '{YamlNodes.Scalar(zoneNode)}' (use an IANA id such as Europe/Paris)");
            }
        }

        var fallback = YamlNodes.Get(map, "default") is { } defaultNode ? YamlNodes.Scalar(defaultNode) : null;
        if (YamlNodes.Get(map, "default") is { } dn && fallback is null)
            return Fail(file, dn, "default: is a scalar");
        return new FieldOptions(layout, table, authorities, systems, zone, fallback);
    }

    /// <summary>A code, identifier, names, address or person: read from one path, through the systems and authorities tables.</summary>
    private ValueReader? Structured(string file, YamlMappingNode map, Shape shape, string what, FieldOptions options)
    {
        if (options.Table is not null || options.Fallback is not null)
            return compilation.Fail<ValueReader>(file, map, $"table: and default: apply to text, dates, flags and numbers, not to {what}");
        if (YamlNodes.Get(map, "path") is not YamlScalarNode pathNode)
            return compilation.Fail<ValueReader>(file, map, $"{what} is read from an HL7 path (path:)");
        var path = compilation.Path(file, pathNode);
        if (path is null)
            return null;
        Predicate? select = null;
        string? selectSegment = null;
        if (YamlNodes.Get(map, "from") is { } fromNode && !readers.From(file, fromNode, path.Value, out selectSegment, out select))
            return null;
        return readers.Structured(file, pathNode, path.Value, shape, what, options.Systems, options.Authorities, selectSegment, select, options.Layout);
    }

    /// <summary>Text, a date, a flag or a number: from a path, a constant, a concatenation or agreeing signals, then the table and the default.</summary>
    private ValueReader? Textual(string file, YamlMappingNode map, Shape shape, string label, FieldOptions options)
    {
        if (options.Authorities is not null || options.Systems is not null)
            return compilation.Fail<ValueReader>(file, map, $"authorities: and systems: apply to identifiers and codes, not to {label} ({Shapes.Describe(shape)})");

        TextSource? source = null;
        Hl7Path? direct = null;
        if (YamlNodes.Get(map, "path") is { } p)
        {
            if (p is not YamlScalarNode ps || compilation.Path(file, ps) is not { } path)
                return p is YamlScalarNode ? null : compilation.Fail<ValueReader>(file, p, "path: is an HL7 path such as PID-3[2].4.2");
            source = FieldReaderCompiler.PathText(path);
            direct = path;
            if (YamlNodes.Get(map, "from") is { } fromNode)
            {
                if (!readers.From(file, fromNode, path, out var seg, out var select))
                    return null;
                source = FieldReaderCompiler.Selected(source, seg!, select!);
                direct = null;
            }
        }
        else if (YamlNodes.Get(map, "value") is { } v)
        {
            var constant = YamlNodes.Scalar(v);
            if (constant is null)
                return compilation.Fail<ValueReader>(file, v, "value: is a scalar constant");
            source = (in MapScope _) => constant;
        }
        else if (YamlNodes.Get(map, "concat") is { } c)
        {
            source = Concat(file, c);
            if (source is null)
                return null;
        }
        else if (YamlNodes.Get(map, "agree") is { } a)
        {
            source = Agree(file, a);
            if (source is null)
                return null;
        }
        else if (YamlNodes.Get(map, "from") is { } fromOnly)
        {
            return compilation.Fail<ValueReader>(file, fromOnly, "from: selects the segment a path: reads");
        }

        var fallback = options.Fallback;
        if (fallback is not null && Shapes.FromText(shape, fallback, null) is null)
            return compilation.Fail<ValueReader>(file, YamlNodes.Get(map, "default")!, $"default: '{fallback}' is not {Shapes.Describe(shape)}");
        return direct is { } directPath
            ? FieldReaderCompiler.PathValue(directPath, options.Table, fallback, shape, options.Zone, label)
            : FieldReaderCompiler.Text(source, options.Table, fallback, shape, options.Zone, label);
    }

    private FieldOptions? Fail(string file, YamlNode node, string reason)
    {
        compilation.Fail<object>(file, node, reason);
        return null;
    }

    private ValueReader? Collect(string file, YamlMappingNode map, YamlNode collectNode)
    {
        var segment = YamlNodes.Scalar(collectNode);
        if (segment is null || !RuleCompilation.IsSegmentId(segment))
            return compilation.Fail<ValueReader>(file, collectNode, "collect: is a segment id");
        compilation.Segments.Add(segment);
        if (YamlNodes.Get(map, "key") is not YamlScalarNode keyNode || compilation.Path(file, keyNode) is not { } key)
            return YamlNodes.Get(map, "key") is YamlScalarNode ? null : compilation.Fail<ValueReader>(file, map, "collect: needs key: PATH");
        if (YamlNodes.Get(map, "value") is not YamlScalarNode valueNode || compilation.Path(file, valueNode) is not { } value)
            return YamlNodes.Get(map, "value") is YamlScalarNode ? null : compilation.Fail<ValueReader>(file, map, "collect: needs value: PATH");
        if (key.SegmentId != segment || value.SegmentId != segment)
            return compilation.Fail<ValueReader>(file, map, $"key: and value: read the collected segment {segment}");
        CodeTable? table = null;
        if (YamlNodes.Get(map, "table") is { } tableNode && (table = compilation.Table(file, tableNode)) is null)
            return null;
        var keyText = FieldReaderCompiler.PathText(key);
        var valueText = FieldReaderCompiler.PathText(value);
        var segmentKey = Hl7Scan.Key(segment);
        return (in MapScope scope) =>
        {
            Dictionary<string, string>? result = null;
            for (var i = scope.Start; i < scope.End; i++)
            {
                if (scope.Run.KeyAt(i) != segmentKey)
                    continue;
                var at = scope with { Current = i };
                var k = keyText(at);
                if (k is null)
                    continue;
                if (table is not null)
                {
                    if (!table.TryLookup(k, out var canonical))
                        continue;
                    k = canonical;
                }
                if (valueText(at) is { } v)
                    (result ??= new Dictionary<string, string>(StringComparer.Ordinal))[k] = v;
            }
            return result;
        };
    }

    private TextSource? Concat(string file, YamlNode node)
    {
        if (node is not YamlSequenceNode list || list.Children.Count == 0)
            return compilation.Fail<TextSource>(file, node, "concat: is a list of HL7 paths and literal texts");
        var parts = new List<(TextSource? Path, string? Literal)>();
        foreach (var item in list)
        {
            var text = YamlNodes.Scalar(item);
            if (text is null)
                return compilation.Fail<TextSource>(file, item, "concat: items are scalars");
            if (RuleCompilation.LooksLikePath(text))
            {
                if (compilation.Path(file, (YamlScalarNode)item) is not { } path)
                    return null;
                parts.Add((FieldReaderCompiler.PathText(path), null));
            }
            else
            {
                parts.Add((null, text));
            }
        }
        var array = parts.ToArray();
        return (in MapScope scope) =>
        {
            string? result = null;
            var any = false;
            foreach (var (path, literal) in array)
            {
                var piece = path is null ? literal : path(scope);
                any |= path is not null && piece is not null;
                if (!string.IsNullOrEmpty(piece))
                    result = result is null ? piece : result + piece;
            }
            return any ? result : null;
        };
    }

    /// <summary>Signals that must agree (DESIGN.md's document lifecycle): each path through its table; two different answers fail the message.</summary>
    private TextSource? Agree(string file, YamlNode node)
    {
        if (node is not YamlSequenceNode list || list.Children.Count == 0)
            return compilation.Fail<TextSource>(file, node, "agree: is a list of { path: PATH, table: TABLE }");
        var signals = new List<(Hl7Path Path, TextSource Text, CodeTable Table)>();
        foreach (var item in list)
        {
            if (item is not YamlMappingNode m || !compilation.CheckKeys(file, m, ["path", "table"]))
                return item is YamlMappingNode ? null : compilation.Fail<TextSource>(file, item, "agree: items are { path: PATH, table: TABLE }");
            if (YamlNodes.Get(m, "path") is not YamlScalarNode pn || compilation.Path(file, pn) is not { } path)
                return YamlNodes.Get(m, "path") is YamlScalarNode ? null : compilation.Fail<TextSource>(file, m, "agree: items need path:");
            if (YamlNodes.Get(m, "table") is not { } tn || compilation.Table(file, tn) is not { } table)
                return YamlNodes.Get(m, "table") is null ? compilation.Fail<TextSource>(file, m, "agree: items need table:") : null;
            signals.Add((path, FieldReaderCompiler.PathText(path), table));
        }
        var array = signals.ToArray();
        return (in MapScope scope) =>
        {
            string? agreed = null;
            var by = -1;
            for (var i = 0; i < array.Length; i++)
            {
                var raw = array[i].Text(scope);
                if (raw is null || !array[i].Table.TryLookup(raw, out var meaning))
                    continue;
                if (agreed is null)
                {
                    agreed = meaning;
                    by = i;
                }
                else if (!string.Equals(agreed, meaning, StringComparison.Ordinal))
                {
                    var first = array[by];
                    var segment = scope.Run.Find(scope, array[i].Path.SegmentId, array[i].Path.Occurrence);
                    scope.Run.Fail(new MapError(
                        $"signals disagree: {first.Path} '{first.Text(scope)}' means {agreed}, {array[i].Path} '{raw}' means {meaning}",
                        segment + 1, array[i].Path.SegmentId, array[i].Path.Field));
                    return null;
                }
            }
            return agreed;
        };
    }

    private static ValueReader? Guard(ValueReader? reader, Predicate? when) =>
        reader is null || when is null ? reader : (in MapScope scope) => when(scope) ? reader(scope) : null;
}
