using Dmp.Mapping.Hl7v2;
using Dmp.Model;
using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

internal delegate object? ValueReader(in MapScope scope);
internal delegate bool Predicate(in MapScope scope);
internal delegate string? TextSource(in MapScope scope);

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
/// Compiles record specs into delegates once: paths are parsed with <see cref="Hl7Path.TryParse"/>, tables and
/// transforms resolved; every mistake is a <see cref="RuleError"/> with the file, line and column.
/// </summary>
internal sealed class RuleCompiler(IReadOnlyDictionary<string, CodeTable> tables, List<RuleError> errors)
{
    private static readonly HashSet<string> FieldKeys = new(StringComparer.Ordinal)
    {
        "path", "value", "concat", "agree", "collect", "key", "from", "table", "default", "when", "zone", "layout", "authorities", "systems",
    };

    public HashSet<string> Segments { get; } = new(StringComparer.Ordinal);
    public HashSet<(string Segment, int Field)> Fields { get; } = [];
    public SortedSet<string> TableFiles { get; } = new(StringComparer.Ordinal);

    public CompiledRecord? Record(RecordSpec spec)
    {
        if (!RecordKinds.All.TryGetValue(spec.Kind, out var kind))
            return Fail<CompiledRecord>(spec.File, spec.Node, $"unknown record '{spec.Kind}' (known: {string.Join(", ", RecordKinds.All.Keys)})");

        string? each = null;
        HashSet<string>? members = null;
        if (spec.Each is YamlScalarNode eachScalar)
        {
            if (!IsSegmentId(eachScalar.Value))
                return Fail<CompiledRecord>(spec.EachFile, eachScalar, $"each: '{eachScalar.Value}' is not a segment id (3 upper-case letters or digits)");
            each = eachScalar.Value!;
        }
        else if (spec.Each is YamlMappingNode group)
        {
            if (!CheckKeys(spec.EachFile, group, ["group", "members"]))
                return null;
            var start = YamlNodes.Scalar(YamlNodes.Get(group, "group"));
            if (start is null || !IsSegmentId(start))
                return Fail<CompiledRecord>(spec.EachFile, group, "each: { group: SEG, members: [SEG …] } needs a segment id in group:");
            each = start;
            members = new HashSet<string>(StringComparer.Ordinal);
            if (YamlNodes.Get(group, "members") is YamlSequenceNode list)
            {
                foreach (var m in list)
                {
                    var id = YamlNodes.Scalar(m);
                    if (id is null || !IsSegmentId(id))
                        return Fail<CompiledRecord>(spec.EachFile, m, "members: lists segment ids");
                    members.Add(id);
                    Segments.Add(id);
                }
            }
            else if (YamlNodes.Get(group, "members") is { } bad)
            {
                return Fail<CompiledRecord>(spec.EachFile, bad, "members: is a list of segment ids");
            }
        }
        else if (spec.Each is { } other)
        {
            return Fail<CompiledRecord>(spec.EachFile, other, "each: is a segment id or { group: SEG, members: [...] }");
        }
        if (each is not null)
            Segments.Add(each);

        Predicate? when = null;
        if (spec.When is { } whenNode)
        {
            when = Condition(spec.WhenFile, whenNode);
            if (when is null)
                return null;
        }

        var fields = new List<(int, ValueReader)>(spec.Fields.Count);
        foreach (var field in spec.Fields)
        {
            if (!kind.TryGetSlot(field.Name, out var slot, out var shape))
                return Fail<CompiledRecord>(field.File, field.KeyNode, $"{kind.Name} has no field '{field.Name}' (fields: {string.Join(", ", kind.Fields.Select(f => f.Field))})");
            var reader = Value(field, shape);
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

    private ValueReader? Value(FieldSpec field, Shape shape)
    {
        var file = field.File;
        var node = field.Value;
        var what = $"{field.Name} ({Shapes.Describe(shape)})";
        if (node is YamlScalarNode scalar)
        {
            var path = Path(file, scalar);
            if (path is null)
                return null;
            return Structured(file, scalar, path.Value, shape, what, null, null, null, null, IdLayout.Cx);
        }
        if (node is not YamlMappingNode map)
            return Fail<ValueReader>(file, node, $"{field.Name}: expected an HL7 path or a mapping (path:, value:, concat: …)");
        if (!CheckKeys(file, map, FieldKeys))
            return null;

        Predicate? when = null;
        if (YamlNodes.Get(map, "when") is { } whenNode && (when = Condition(file, whenNode)) is null)
            return null;

        if (YamlNodes.Get(map, "collect") is { } collectNode)
        {
            if (shape != Shape.Map)
                return Fail<ValueReader>(file, collectNode, $"collect: fills key/value fields, but {what} is not one");
            return Guard(Collect(file, map, collectNode), when);
        }
        if (shape == Shape.Map)
            return Fail<ValueReader>(file, map, $"{what} is filled with collect: SEG, key: PATH, value: PATH");

        var layout = IdLayout.Cx;
        if (YamlNodes.Get(map, "layout") is { } layoutNode)
        {
            switch (YamlNodes.Scalar(layoutNode))
            {
                case "cx": layout = IdLayout.Cx; break;
                case "ei": layout = IdLayout.Ei; break;
                case "xon": layout = IdLayout.Xon; break;
                case "hd": layout = IdLayout.Hd; break;
                default: return Fail<ValueReader>(file, layoutNode, "layout: is one of cx, ei, xon, hd");
            }
            if (shape is not (Shape.Identifier or Shape.Identifiers))
                return Fail<ValueReader>(file, layoutNode, $"layout: applies to identifiers, not to {what}");
        }

        CodeTable? table = null, authorities = null, systems = null;
        if (YamlNodes.Get(map, "table") is { } tableNode && (table = Table(file, tableNode)) is null)
            return null;
        if (YamlNodes.Get(map, "authorities") is { } authNode && (authorities = Table(file, authNode)) is null)
            return null;
        if (YamlNodes.Get(map, "systems") is { } sysNode && (systems = Table(file, sysNode)) is null)
            return null;

        TimeZoneInfo? zone = null;
        if (YamlNodes.Get(map, "zone") is { } zoneNode)
        {
            if (shape != Shape.Date)
                return Fail<ValueReader>(file, zoneNode, $"zone: applies to dates, not to {what}");
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(YamlNodes.Scalar(zoneNode) ?? "");
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                return Fail<ValueReader>(file, zoneNode, $"zone: unknown time zone '{YamlNodes.Scalar(zoneNode)}' (use an IANA id such as Europe/Paris)");
            }
        }

        var fallback = YamlNodes.Get(map, "default") is { } defaultNode ? YamlNodes.Scalar(defaultNode) : null;
        if (YamlNodes.Get(map, "default") is { } dn && fallback is null)
            return Fail<ValueReader>(file, dn, "default: is a scalar");

        var sources = 0;
        foreach (var key in new[] { "path", "value", "concat", "agree" })
        {
            if (YamlNodes.Get(map, key) is not null)
                sources++;
        }
        if (sources > 1)
            return Fail<ValueReader>(file, map, $"{field.Name}: give one of path:, value:, concat:, agree:");
        if (sources == 0 && fallback is null)
            return Fail<ValueReader>(file, map, $"{field.Name}: give path:, value:, concat:, agree: or default:");

        if (!Shapes.IsTextual(shape))
        {
            if (table is not null || fallback is not null)
                return Fail<ValueReader>(file, map, $"table: and default: apply to text, dates, flags and numbers, not to {what}");
            if (YamlNodes.Get(map, "path") is not YamlScalarNode pathNode)
                return Fail<ValueReader>(file, map, $"{what} is read from an HL7 path (path:)");
            var path = Path(file, pathNode);
            if (path is null)
                return null;
            Predicate? select = null;
            string? selectSegment = null;
            if (YamlNodes.Get(map, "from") is { } fromNode && !From(file, fromNode, path.Value, out selectSegment, out select))
                return null;
            return Guard(Structured(file, pathNode, path.Value, shape, what, systems, authorities, selectSegment, select, layout), when);
        }
        if (authorities is not null || systems is not null)
            return Fail<ValueReader>(file, map, $"authorities: and systems: apply to identifiers and codes, not to {what}");

        TextSource? source = null;
        Hl7Path? direct = null;
        if (YamlNodes.Get(map, "path") is { } p)
        {
            if (p is not YamlScalarNode ps || Path(file, ps) is not { } path)
                return p is YamlScalarNode ? null : Fail<ValueReader>(file, p, "path: is an HL7 path such as PID-3[2].4.2");
            source = PathText(path);
            direct = path;
            if (YamlNodes.Get(map, "from") is { } fromNode)
            {
                if (!From(file, fromNode, path, out var seg, out var select))
                    return null;
                source = Selected(source, seg!, select!);
                direct = null;
            }
        }
        else if (YamlNodes.Get(map, "value") is { } v)
        {
            var constant = YamlNodes.Scalar(v);
            if (constant is null)
                return Fail<ValueReader>(file, v, "value: is a scalar constant");
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
            return Fail<ValueReader>(file, fromOnly, "from: selects the segment a path: reads");
        }

        if (fallback is not null && Shapes.FromText(shape, fallback, null) is null)
            return Fail<ValueReader>(file, YamlNodes.Get(map, "default")!, $"default: '{fallback}' is not {Shapes.Describe(shape)}");
        var label = field.Name;
        var reader = direct is { } directPath ? PathValue(directPath, table, fallback, shape, zone, label) : Text(source, table, fallback, shape, zone, label);
        return Guard(reader, when);
    }

    /// <summary>
    /// A textual field read from a path: <see cref="Text"/> over the path's text, except that a date is read straight
    /// from the element's bytes when they are plain ASCII (no string is made for a value that becomes a date).
    /// Anything else — escapes, other bytes, a value that is not a date, a default — goes the text way, warnings included.
    /// </summary>
    private static ValueReader PathValue(Hl7Path path, CodeTable? table, string? fallback, Shape shape, TimeZoneInfo? zone, string label)
    {
        var text = Text(PathText(path), table, fallback, shape, zone, label);
        if (shape != Shape.Date || table is not null)
            return text;
        return (in MapScope scope) =>
        {
            var element = Locate(scope, path, false);
            if (element.IsEmpty || element.IsNull)
                return fallback is null ? null : text(scope);
            return TryReadDate(element, zone) ?? text(scope);
        };
    }

    private static PartialDateTime? TryReadDate(Hl7Field element, TimeZoneInfo? zone)
    {
        const int Longest = 40; // YYYYMMDDHHMMSS.SSSS+ZZZZ and some spaces
        var raw = element.RawBytes;
        if (raw.Length > Longest || element.Message is not { } message)
            return null;
        var escape = message.Delimiters.HasEscape ? message.Delimiters.Escape : (byte)0x80;
        Span<char> chars = stackalloc char[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            var b = raw[i];
            if (b >= 0x80 || b == escape)
                return null;
            chars[i] = (char)b;
        }
        return Hl7DateTime.TryParse(chars, out var date) ? MapRun.ToPartial(date, zone) : null;
    }

    private static ValueReader Text(TextSource? source, CodeTable? table, string? fallback, Shape shape, TimeZoneInfo? zone, string label) =>
        (in MapScope scope) =>
        {
            var text = source?.Invoke(scope);
            if (text is not null && table is not null)
            {
                var mapped = table.Lookup(text);
                if (mapped is null)
                    scope.Run.Warn($"{label}: '{text}' is not in table {table.Name}");
                text = mapped;
            }
            text ??= fallback;
            if (text is null)
                return null;
            var value = Shapes.FromText(shape, text, zone);
            if (value is null)
                scope.Run.Warn($"{label}: '{text}' is not {Shapes.Describe(shape)}");
            return value;
        };

    private static ValueReader? Guard(ValueReader? reader, Predicate? when) =>
        reader is null || when is null ? reader : (in MapScope scope) => when(scope) ? reader(scope) : null;

    private ValueReader? Structured(string file, YamlNode node, Hl7Path path, Shape shape, string what, CodeTable? systems, CodeTable? authorities,
        string? selectSegment, Predicate? select, IdLayout layout)
    {
        systems ??= tables.GetValueOrDefault("coding-systems");
        authorities ??= tables.GetValueOrDefault("assigning-authorities");
        if (systems is not null)
            TableFiles.Add(systems.File);
        if (authorities is not null)
            TableFiles.Add(authorities.File);
        var whole = path.Repetition == 1 && path.Component == 0 && path.SubComponent == 0;
        if (shape is Shape.Identifiers or Shape.Names or Shape.Addresses && !whole)
            return Fail<ValueReader>(file, node, $"{what} is read from a whole field (e.g. PID-3), not '{path}'");
        if (Shapes.IsTextual(shape))
        {
            var text = PathValue(path, null, null, shape, null, what);
            return select is null ? text : Selected(text, selectSegment!, select);
        }
        ValueReader reader = shape switch
        {
            Shape.Code => (in MapScope s) => Shapes.ToCode(Locate(s, path, false), systems),
            Shape.Identifier => (in MapScope s) => Shapes.ToIdentifier(Locate(s, path, false), layout, authorities),
            Shape.Identifiers => (in MapScope s) => Shapes.ToIdentifiers(Locate(s, path, true), layout, authorities),
            Shape.Names => (in MapScope s) => Shapes.ToNames(Locate(s, path, true)),
            Shape.Addresses => (in MapScope s) => Shapes.ToAddresses(Locate(s, path, true)),
            Shape.Person => (in MapScope s) => Shapes.ToPerson(Locate(s, path, false), authorities),
            _ => (in MapScope s) => Locate(s, path, whole) is { IsEmpty: false } e ? e : null,
        };
        return select is null ? reader : Selected(reader, selectSegment!, select);
    }

    private static ValueReader Selected(ValueReader reader, string segment, Predicate select) =>
        (in MapScope scope) => Select(scope, segment, select) is { } s ? reader(s) : null;

    private static TextSource Selected(TextSource reader, string segment, Predicate select) =>
        (in MapScope scope) => Select(scope, segment, select) is { } s ? reader(s) : null;

    /// <summary>The scope moved to the first segment of the range that passes the selector.</summary>
    private static MapScope? Select(in MapScope scope, string segment, Predicate select)
    {
        var key = Hl7Scan.Key(segment);
        for (var i = scope.Start; i < scope.End; i++)
        {
            if (scope.Run.KeyAt(i) != key)
                continue;
            var candidate = scope with { Current = i };
            if (select(candidate))
                return candidate;
        }
        return null;
    }

    private bool From(string file, YamlNode node, Hl7Path path, out string? segment, out Predicate? select)
    {
        segment = null;
        select = null;
        if (node is not YamlMappingNode map || !CheckKeys(file, map, ["segment", "where"]))
        {
            if (node is not YamlMappingNode)
                Fail<object>(file, node, "from: is { segment: SEG, where: CONDITION }");
            return false;
        }
        segment = YamlNodes.Scalar(YamlNodes.Get(map, "segment"));
        if (segment is null || !IsSegmentId(segment))
        {
            Fail<object>(file, map, "from: needs segment: SEG");
            return false;
        }
        if (!string.Equals(segment, path.SegmentId, StringComparison.Ordinal))
        {
            Fail<object>(file, map, $"from: selects a {segment} segment but the path reads {path.SegmentId}");
            return false;
        }
        Segments.Add(segment);
        if (YamlNodes.Get(map, "where") is not { } where)
        {
            select = static (in MapScope _) => true;
            return true;
        }
        select = Condition(file, where);
        return select is not null;
    }

    private ValueReader? Collect(string file, YamlMappingNode map, YamlNode collectNode)
    {
        var segment = YamlNodes.Scalar(collectNode);
        if (segment is null || !IsSegmentId(segment))
            return Fail<ValueReader>(file, collectNode, "collect: is a segment id");
        Segments.Add(segment);
        if (YamlNodes.Get(map, "key") is not YamlScalarNode keyNode || Path(file, keyNode) is not { } key)
            return YamlNodes.Get(map, "key") is YamlScalarNode ? null : Fail<ValueReader>(file, map, "collect: needs key: PATH");
        if (YamlNodes.Get(map, "value") is not YamlScalarNode valueNode || Path(file, valueNode) is not { } value)
            return YamlNodes.Get(map, "value") is YamlScalarNode ? null : Fail<ValueReader>(file, map, "collect: needs value: PATH");
        if (key.SegmentId != segment || value.SegmentId != segment)
            return Fail<ValueReader>(file, map, $"key: and value: read the collected segment {segment}");
        CodeTable? table = null;
        if (YamlNodes.Get(map, "table") is { } tableNode && (table = Table(file, tableNode)) is null)
            return null;
        var keyText = PathText(key);
        var valueText = PathText(value);
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
            return Fail<TextSource>(file, node, "concat: is a list of HL7 paths and literal texts");
        var parts = new List<(TextSource? Path, string? Literal)>();
        foreach (var item in list)
        {
            var text = YamlNodes.Scalar(item);
            if (text is null)
                return Fail<TextSource>(file, item, "concat: items are scalars");
            if (LooksLikePath(text))
            {
                if (Path(file, (YamlScalarNode)item) is not { } path)
                    return null;
                parts.Add((PathText(path), null));
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
            return Fail<TextSource>(file, node, "agree: is a list of { path: PATH, table: TABLE }");
        var signals = new List<(Hl7Path Path, TextSource Text, CodeTable Table)>();
        foreach (var item in list)
        {
            if (item is not YamlMappingNode m || !CheckKeys(file, m, ["path", "table"]))
                return item is YamlMappingNode ? null : Fail<TextSource>(file, item, "agree: items are { path: PATH, table: TABLE }");
            if (YamlNodes.Get(m, "path") is not YamlScalarNode pn || Path(file, pn) is not { } path)
                return YamlNodes.Get(m, "path") is YamlScalarNode ? null : Fail<TextSource>(file, m, "agree: items need path:");
            if (YamlNodes.Get(m, "table") is not { } tn || Table(file, tn) is not { } table)
                return YamlNodes.Get(m, "table") is null ? Fail<TextSource>(file, m, "agree: items need table:") : null;
            signals.Add((path, PathText(path), table));
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

    public Predicate? Condition(string file, YamlNode node)
    {
        if (node is not YamlMappingNode map)
            return Fail<Predicate>(file, node, "a condition is a mapping: { path: P, equals: V } / in: / in-table: / not-in-table: / present: , or all: / any: / not:");
        if (YamlNodes.Get(map, "all") is { } all)
        {
            if (!CheckKeys(file, map, ["all"]))
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
            if (!CheckKeys(file, map, ["any"]))
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
            if (!CheckKeys(file, map, ["not"]))
                return null;
            var inner = Condition(file, not);
            return inner is null ? null : (in MapScope s) => !inner(s);
        }
        if (!CheckKeys(file, map, ["path", "equals", "not-equals", "in", "in-table", "not-in-table", "present"]))
            return null;
        if (YamlNodes.Get(map, "path") is not YamlScalarNode pathNode)
            return Fail<Predicate>(file, map, "a condition needs path: (or all:, any:, not:)");
        if (Path(file, pathNode) is not { } path)
            return null;
        var text = PathText(path);
        if (YamlNodes.Get(map, "equals") is { } eq)
        {
            var expected = YamlNodes.Scalar(eq);
            return expected is null ? Fail<Predicate>(file, eq, "equals: is a scalar") : (in MapScope s) => string.Equals(text(s), expected, StringComparison.Ordinal);
        }
        if (YamlNodes.Get(map, "not-equals") is { } ne)
        {
            var expected = YamlNodes.Scalar(ne);
            return expected is null ? Fail<Predicate>(file, ne, "not-equals: is a scalar") : (in MapScope s) => !string.Equals(text(s), expected, StringComparison.Ordinal);
        }
        if (YamlNodes.Get(map, "in") is { } inNode)
        {
            if (inNode is not YamlSequenceNode seq)
                return Fail<Predicate>(file, inNode, "in: is a list of values");
            var set = new HashSet<string>(seq.Select(YamlNodes.Scalar).OfType<string>(), StringComparer.Ordinal);
            return (in MapScope s) => text(s) is { } v && set.Contains(v);
        }
        if (YamlNodes.Get(map, "in-table") is { } it)
        {
            var table = Table(file, it);
            return table is null ? null : (in MapScope s) => text(s) is { } v && table.Contains(v);
        }
        if (YamlNodes.Get(map, "not-in-table") is { } nit)
        {
            var table = Table(file, nit);
            return table is null ? null : (in MapScope s) => text(s) is not { } v || !table.Contains(v);
        }
        if (YamlNodes.Get(map, "present") is { } present)
        {
            var want = YamlNodes.Scalar(present) switch { "true" => true, "false" => false, _ => (bool?)null };
            return want is not { } w ? Fail<Predicate>(file, present, "present: is true or false") : (in MapScope s) => text(s) is not null == w;
        }
        return Fail<Predicate>(file, map, "a condition needs one of equals:, not-equals:, in:, in-table:, not-in-table:, present:");
    }

    private Predicate[]? Conditions(string file, YamlNode node)
    {
        if (node is not YamlSequenceNode seq || seq.Children.Count == 0)
            return Fail<Predicate[]>(file, node, "all: and any: take a list of conditions");
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

    private CodeTable? Table(string file, YamlNode node)
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

    private static TextSource PathText(Hl7Path path) => (in MapScope s) =>
    {
        var e = Locate(s, path, false);
        return e.IsEmpty || e.IsNull ? null : e.Value;
    };

    /// <summary>The element at a path as the scope sees it; the whole field (all repetitions) when asked.</summary>
    internal static Hl7Field Locate(in MapScope scope, Hl7Path path, bool wholeField)
    {
        var index = scope.Run.Find(scope, path.SegmentId, path.Occurrence);
        if (index < 0)
            return default;
        var field = scope.Run.Field(index, path.Field);
        if (wholeField)
            return field;
        var node = field.GetRepetition(path.Repetition);
        if (path.Component > 0)
            node = node.GetComponent(path.Component);
        if (path.SubComponent > 0)
            node = node.GetSubComponent(path.SubComponent);
        return node;
    }

    internal bool CheckKeys(string file, YamlMappingNode map, IReadOnlyCollection<string> allowed)
    {
        foreach (var pair in map.Children)
        {
            var key = YamlNodes.Scalar(pair.Key);
            if (key is null || !allowed.Contains(key))
            {
                Fail<object>(file, pair.Key, $"unknown key '{key}' (expected: {string.Join(", ", allowed)})");
                return false;
            }
        }
        return true;
    }

    internal static bool IsSegmentId(string? s) =>
        s is { Length: 3 } && s.All(c => c is >= 'A' and <= 'Z' or >= '0' and <= '9');

    private static bool LooksLikePath(string text) =>
        text.Length >= 5 && IsSegmentId(text[..3]) && (text[3] == '-' || text[3] == '[');

    private T? Fail<T>(string file, YamlNode node, string reason) where T : class
    {
        errors.Add(YamlNodes.At(file, node, reason));
        return null;
    }
}
