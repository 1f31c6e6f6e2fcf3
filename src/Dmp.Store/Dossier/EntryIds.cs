using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dmp.Store.Dossier;

/// <summary>
/// The public ids of clinical entries: 128 random bits as lower-case hex, given to an entry when it is first stored
/// (<c>entry.public_id</c>), kept by every source that dedups into it. Nothing in one says what the entry holds or
/// whose it is. The plan's JSON names an entry, and the entries it points at, by the id the mapping derived from the
/// natural key; the stored JSON carries the public ids instead, so a read serves it as stored.
/// </summary>
internal static class EntryIds
{
    /// <summary>Text as the mapping wrote it (accents and symbols unescaped): the JSON is stored, never put in HTML.</summary>
    private static readonly JsonSerializerOptions Stored = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A new public id.</summary>
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The planned JSON as an object (null when it is not one: it is then stored as it came).</summary>
    public static JsonObject? Parse(string resource)
    {
        try
        {
            return JsonNode.Parse(resource) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The plan's own id of the entry (<c>Kind/id</c>), the key its referrers name it by.</summary>
    public static string? PlannedReference(string kind, JsonObject? planned) =>
        planned?["id"] is JsonValue id && id.TryGetValue<string>(out var text) ? kind + "/" + text : null;

    /// <summary>
    /// The JSON to store: <paramref name="planned"/> with <paramref name="publicId"/> as its id and each literal
    /// reference (<c>Type/id</c>) to another entry of the message replaced by that entry's public id
    /// (<paramref name="stored"/>: plan reference → public reference). A literal reference not among them is dropped:
    /// a stored entry carries no other (its subject is set when it is served), so it can only be a plan id.
    /// </summary>
    public static string Rewrite(JsonObject planned, string publicId, IReadOnlyDictionary<string, string> stored)
    {
        var copy = (JsonObject)planned.DeepClone();
        copy["id"] = publicId;
        RewriteReferences(copy, stored);
        return copy.ToJsonString(Stored);
    }

    private static void RewriteReferences(JsonNode? node, IReadOnlyDictionary<string, string> stored)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o.ToList())
                {
                    if (name == "reference" && value is JsonValue v && v.TryGetValue<string>(out var reference) && IsLiteral(reference))
                    {
                        if (stored.TryGetValue(reference, out var replaced))
                            o["reference"] = replaced;
                        else
                            o.Remove("reference");
                    }
                    else
                    {
                        RewriteReferences(value, stored);
                    }
                }
                break;
            case JsonArray a:
                foreach (var item in a.ToList())
                {
                    RewriteReferences(item, stored);
                    // A reference that was only a dropped plan id leaves nothing to point at.
                    if (item is JsonObject { Count: 0 })
                        a.Remove(item);
                }
                break;
        }
    }

    /// <summary>A relative literal reference <c>Type/id</c> (not a contained <c>#id</c>, not an absolute URL).</summary>
    private static bool IsLiteral(string reference)
    {
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < reference.Length - 1 && reference.IndexOf('/', slash + 1) < 0 && char.IsAsciiLetterUpper(reference[0]);
    }
}
