namespace Dmp.Model.Apply;

/// <summary>
/// A document identifier (uniqueId, setId, a replaced parent) in the two forms the gateway keys documents by: the
/// dossier's <see cref="Dossier"/> key (<c>document.unique_id</c>, <c>set_id</c>) and the inbox's held keys (FHIR form).
/// </summary>
/// <param name="Dossier">The dossier's form (see <see cref="DossierForm"/>); null when the identifier has no value.</param>
/// <param name="FhirSystem">The system as FHIR writes the identifier (masterIdentifier), which held drafts are keyed by.</param>
/// <param name="FhirValue">The value as FHIR writes it.</param>
public readonly record struct DocumentKey(string? Dossier, string? FhirSystem, string FhirValue)
{
    /// <summary>The held key of a draft known by this uniqueId (or a parent a validated version replaces).</summary>
    public HeldKey AsUniqueId => HeldKey.UniqueId(FhirSystem, FhirValue);

    /// <summary>The held key of a draft of this set.</summary>
    public HeldKey AsSetId => HeldKey.SetId(FhirSystem, FhirValue);

    /// <summary>
    /// A document identifier as the dossier stores it: <c>root^extension</c>, or the root alone (a bare OID or UUID);
    /// lenient about the forms mappers give (RFC 3986 <c>urn:oid:</c> values, empty systems).
    /// </summary>
    public static string? DossierForm(Identifier? id)
    {
        if (id is null || string.IsNullOrWhiteSpace(id.Value))
            return null;
        var value = id.Value.Trim();
        var system = id.System?.Trim() ?? "";
        if (system is "" or "urn:ietf:rfc:3986")
            return value.StartsWith("urn:oid:", StringComparison.OrdinalIgnoreCase) ? value[8..] : value;
        return system + "^" + value;
    }
}
