using Dmp.Mapping.Hl7v2;
using Dmp.Model;
using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>
/// Compiles reads at HL7 paths into readers: the text at a path (dates straight from the bytes), a structured value
/// (code, identifier, names, address, person) read through the coding-systems and assigning-authorities tables, and
/// `from: { segment, where }`, which reads the first segment that passes a condition.
/// </summary>
internal sealed class FieldReaderCompiler(RuleCompilation compilation, ConditionCompiler conditions)
{
    /// <summary>
    /// A textual field read from a path: <see cref="Text"/> over the path's text, except that a date is read straight
    /// from the element's bytes when they are plain ASCII (no string is made for a value that becomes a date).
    /// Anything else — escapes, other bytes, a value that is not a date, a default — goes the text way, warnings included.
    /// </summary>
    public static ValueReader PathValue(Hl7Path path, CodeTable? table, string? fallback, Shape shape, TimeZoneInfo? zone, string label)
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

    public static ValueReader Text(TextSource? source, CodeTable? table, string? fallback, Shape shape, TimeZoneInfo? zone, string label) =>
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

    public ValueReader? Structured(string file, YamlNode node, Hl7Path path, Shape shape, string what, CodeTable? systems, CodeTable? authorities,
        string? selectSegment, Predicate? select, IdLayout layout)
    {
        systems ??= compilation.DefaultTable("coding-systems");
        authorities ??= compilation.DefaultTable("assigning-authorities");
        var whole = path.Repetition == 1 && path.Component == 0 && path.SubComponent == 0;
        if (shape is Shape.Identifiers or Shape.Names or Shape.Addresses && !whole)
            return compilation.Fail<ValueReader>(file, node, $"{what} is read from a whole field (e.g. PID-3), not '{path}'");
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

    public static ValueReader Selected(ValueReader reader, string segment, Predicate select) =>
        (in MapScope scope) => Select(scope, segment, select) is { } s ? reader(s) : null;

    public static TextSource Selected(TextSource reader, string segment, Predicate select) =>
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

    public bool From(string file, YamlNode node, Hl7Path path, out string? segment, out Predicate? select)
    {
        segment = null;
        select = null;
        if (node is not YamlMappingNode map || !compilation.CheckKeys(file, map, ["segment", "where"]))
        {
            if (node is not YamlMappingNode)
                compilation.Fail<object>(file, node, "from: is { segment: SEG, where: CONDITION }");
            return false;
        }
        segment = YamlNodes.Scalar(YamlNodes.Get(map, "segment"));
        if (segment is null || !RuleCompilation.IsSegmentId(segment))
        {
            compilation.Fail<object>(file, map, "from: needs segment: SEG");
            return false;
        }
        if (!string.Equals(segment, path.SegmentId, StringComparison.Ordinal))
        {
            compilation.Fail<object>(file, map, $"from: selects a {segment} segment but the path reads {path.SegmentId}");
            return false;
        }
        compilation.Segments.Add(segment);
        if (YamlNodes.Get(map, "where") is not { } where)
        {
            select = static (in MapScope _) => true;
            return true;
        }
        select = conditions.Condition(file, where);
        return select is not null;
    }

    public static TextSource PathText(Hl7Path path) => (in MapScope s) =>
    {
        var e = Locate(s, path, false);
        return e.IsEmpty || e.IsNull ? null : e.Value;
    };

    /// <summary>The element at a path as the scope sees it; the whole field (all repetitions) when asked.</summary>
    public static Hl7Field Locate(in MapScope scope, Hl7Path path, bool wholeField)
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
}
