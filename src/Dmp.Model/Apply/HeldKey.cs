namespace Dmp.Model.Apply;

/// <summary>
/// A key a held message waits under in the inbox (<c>held_document</c>, <c>held_identity</c>), in the one text form
/// those rows store: a draft's uniqueId <c>uid:&lt;system&gt;|&lt;value&gt;</c>, its setId <c>set:&lt;system&gt;|&lt;value&gt;</c>,
/// a patient identity <c>&lt;system&gt;|&lt;value&gt;</c>.
/// </summary>
public readonly record struct HeldKey
{
    private HeldKey(string text) => Text = text;

    /// <summary>The stored text; rows written by earlier versions have the same form.</summary>
    public string Text { get; }

    /// <summary>A draft document's uniqueId (FHIR masterIdentifier form).</summary>
    public static HeldKey UniqueId(string? system, string value) => new($"uid:{system}|{value}");

    /// <summary>A draft document's setId (FHIR identifier form).</summary>
    public static HeldKey SetId(string? system, string value) => new($"set:{system}|{value}");

    /// <summary>An identifier (local or INS) of a patient whose identity is not qualified yet.</summary>
    public static HeldKey Identity(string system, string value) => new(system + "|" + value);

    public override string ToString() => Text;
}
