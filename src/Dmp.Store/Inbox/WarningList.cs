using System.Text.Json;

namespace Dmp.Store.Inbox;

/// <summary>Warnings are stored as a JSON array of strings.</summary>
internal static class WarningList
{
    public static string Serialize(IReadOnlyList<string>? warnings) =>
        warnings is null || warnings.Count == 0 ? "[]" : JsonSerializer.Serialize(warnings, WarningJson.Default.IReadOnlyListString);

    public static IReadOnlyList<string> Parse(string? json) =>
        string.IsNullOrEmpty(json) || json == "[]"
            ? []
            : JsonSerializer.Deserialize(json, WarningJson.Default.IReadOnlyListString) ?? [];

    /// <summary>The existing warnings followed by the new ones not already there.</summary>
    public static IReadOnlyList<string> Merge(IReadOnlyList<string> existing, IEnumerable<string>? added)
    {
        if (added is null)
        {
            return existing;
        }

        var merged = new List<string>(existing);
        foreach (var warning in added)
        {
            if (!string.IsNullOrEmpty(warning) && !merged.Contains(warning, StringComparer.Ordinal))
            {
                merged.Add(warning);
            }
        }

        return merged;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class WarningJson : System.Text.Json.Serialization.JsonSerializerContext;
