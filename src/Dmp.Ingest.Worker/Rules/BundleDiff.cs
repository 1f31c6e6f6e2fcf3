using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dmp.Ingest.Worker.RuleWorkbench;

/// <summary>One field that differs between two Bundles: the resource (`Encounter/abc`), its path (`class.code`), before and after (null: absent).</summary>
public sealed record FieldChange(string Resource, string Path, string? Before, string? After);

/// <summary>
/// The field-level difference of two FHIR Bundles (JSON): resources matched by type and id (or by their rank among
/// their type when they have none), each flattened to its leaf values by path, then compared path by path.
/// </summary>
public static class BundleDiff
{
    /// <summary>The most changes one comparison lists (the count beyond is reported, not listed).</summary>
    public const int MaxChanges = 50;

    public static (IReadOnlyList<FieldChange> Changes, int Total) Compare(JsonNode? before, JsonNode? after)
    {
        var left = Flatten(before);
        var right = Flatten(after);
        var changes = new List<FieldChange>();
        var total = 0;
        foreach (var resource in left.Keys.Concat(right.Keys.Where(k => !left.ContainsKey(k))))
        {
            var a = left.GetValueOrDefault(resource) ?? [];
            var b = right.GetValueOrDefault(resource) ?? [];
            foreach (var path in a.Keys.Concat(b.Keys.Where(k => !a.ContainsKey(k))))
            {
                var was = a.GetValueOrDefault(path);
                var now = b.GetValueOrDefault(path);
                if (was == now)
                    continue;
                total++;
                if (changes.Count < MaxChanges)
                    changes.Add(new FieldChange(resource, path, Shorten(was), Shorten(now)));
            }
        }
        return (changes, total);
    }

    /// <summary>The longest value a change shows (an attachment's Base64 would be megabytes): the rest is cut with an ellipsis.</summary>
    public const int MaxValueLength = 200;

    private static string? Shorten(string? value) => value is { Length: > MaxValueLength } v ? v[..MaxValueLength] + "…" : value;

    /// <summary>Each resource of the Bundle (and the Bundle's own fields, as `Bundle`), by key, its leaves by path in document order.</summary>
    private static Dictionary<string, Dictionary<string, string>> Flatten(JsonNode? bundle)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        if (bundle is not JsonObject root)
            return result;
        var own = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in root)
        {
            if (name != "entry")
                Leaves(value, name, own);
        }
        if (own.Count > 0)
            result["Bundle"] = own;
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root["entry"] is JsonArray entries)
        {
            foreach (var entry in entries)
            {
                if (entry?["resource"] is not JsonObject resource)
                    continue;
                var type = resource["resourceType"]?.GetValue<string>() ?? "Resource";
                string key;
                if (resource["id"] is JsonValue id && id.TryGetValue<string>(out var text))
                {
                    key = $"{type}/{text}";
                }
                else
                {
                    var rank = ranks.GetValueOrDefault(type) + 1;
                    ranks[type] = rank;
                    key = $"{type}#{rank}";
                }
                var leaves = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (name, value) in resource)
                {
                    if (name is not ("resourceType" or "id"))
                        Leaves(value, name, leaves);
                }
                result[key] = leaves;
            }
        }
        return result;
    }

    private static void Leaves(JsonNode? node, string path, Dictionary<string, string> into)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj)
                    Leaves(value, path + "." + name, into);
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                    Leaves(array[i], $"{path}[{i}]", into);
                break;
            case JsonValue value:
                into[path] = value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
                break;
            default:
                into[path] = "null";
                break;
        }
    }
}
