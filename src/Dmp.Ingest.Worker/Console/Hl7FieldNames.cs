using System.Text.Json;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>The name of each HL7 v2 field by segment and number, read once from the data file hl7-fields.json.</summary>
public sealed class Hl7FieldNames
{
    private readonly Dictionary<string, Dictionary<int, string>> _segments;

    private Hl7FieldNames(Dictionary<string, Dictionary<int, string>> segments) => _segments = segments;

    public static Hl7FieldNames Default { get; } = Load();

    /// <summary>The segments the table names.</summary>
    public IEnumerable<string> Segments => _segments.Keys;

    /// <summary>The field's name, or null when the table does not know the segment or the field.</summary>
    public string? Name(string segment, int field) =>
        _segments.TryGetValue(segment, out var fields) && fields.TryGetValue(field, out var name) ? name : null;

    private static Hl7FieldNames Load()
    {
        using var stream = typeof(Hl7FieldNames).Assembly.GetManifestResourceStream("Dmp.Ingest.Worker.OperatorConsole.hl7-fields.json")
            ?? throw new InvalidOperationException("the field-name table hl7-fields.json is not embedded in the gateway");
        using var document = JsonDocument.Parse(stream);
        var segments = new Dictionary<string, Dictionary<int, string>>(StringComparer.Ordinal);
        foreach (var segment in document.RootElement.GetProperty("segments").EnumerateObject())
        {
            segments[segment.Name] = segment.Value.EnumerateObject()
                .ToDictionary(f => int.Parse(f.Name, System.Globalization.CultureInfo.InvariantCulture), f => f.Value.GetString()!);
        }

        return new Hl7FieldNames(segments);
    }
}
