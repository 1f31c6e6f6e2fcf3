using System.Text.Json.Nodes;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>
/// The systems, extensions and codes the gateway writes in FHIR, in one place: the DMP's own (visibility codes of
/// JDV_J08), FR Core's identity reliability, and ours where no published profile covers a datum yet.
/// </summary>
public static class DmpFhir
{
    /// <summary>The DMP visibility codes (value set JDV_J08) as we write them in securityLabel.</summary>
    public const string VisibilitySystem = "urn:oid:1.2.250.1.213.1.1.4.13";

    public const string ConfidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

    /// <summary>FR Core's identity reliability extension and its status code system (PID-32 values).</summary>
    public const string IdentityReliabilityExtension = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability";
    public const string IdentityStatusSystem = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445";
    public const string IdentityValidationModeSystem = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-validation-mode";
    public const string IdentifierTypeSystem = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identifier-type";

    /// <summary>
    /// The canonical base of the project's own conformance resources. Each extension below is defined by a
    /// StructureDefinition kept in the repository (`docs/fhir/StructureDefinition-{name}.json`, url = this base +
    /// `/StructureDefinition/{name}`), which the validation tests load.
    /// </summary>
    public const string CanonicalBase = "https://dmp-ingest.example/fhir";

    /// <summary>Our extensions and code systems (no published profile covers them yet).</summary>
    public const string DossierStatusExtension = CanonicalBase + "/StructureDefinition/dmp-dossier-status";
    public const string MovementExtension = CanonicalBase + "/StructureDefinition/movement";
    public const string DocumentActionExtension = CanonicalBase + "/StructureDefinition/document-action";
    public const string RoutingExtension = CanonicalBase + "/StructureDefinition/dmp-routing";
    public const string ConsentCategorySystem = "urn:dmp-ingest:fhir:consent-category";

    /// <summary>
    /// The extension URLs written before they had canonical ones (`urn:dmp-ingest:fhir:extension:{name}`), each with its
    /// current URL: resources stored with the old ones are served with the new (<see cref="UpgradeStored"/>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> LegacyExtensionUrls = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["urn:dmp-ingest:fhir:extension:dmp-dossier-status"] = DossierStatusExtension,
        ["urn:dmp-ingest:fhir:extension:movement"] = MovementExtension,
        ["urn:dmp-ingest:fhir:extension:document-action"] = DocumentActionExtension,
        ["urn:dmp-ingest:fhir:extension:dmp-routing"] = RoutingExtension,
    };

    /// <summary>
    /// Brings a stored resource's JSON (an `entry` row written by an earlier version) to what the projection writes now:
    /// legacy extension URLs become the canonical ones (<see cref="LegacyExtensionUrls"/>, at any depth), and an
    /// AllergyIntolerance without a clinical status gets the one <see cref="AllergyProjection.ClinicalStatus"/> gives.
    /// Returns whether it changed anything.
    /// </summary>
    public static bool UpgradeStored(JsonObject resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var changed = RewriteUrls(resource);
        if (resource["resourceType"]?.GetValue<string>() == "AllergyIntolerance" && resource["clinicalStatus"] is null
            && resource["verificationStatus"]?["coding"]?[0]?["code"]?.GetValue<string>() != "entered-in-error")
        {
            resource["clinicalStatus"] = new JsonObject
            {
                ["coding"] = new JsonArray(new JsonObject { ["system"] = AllergyProjection.ClinicalStatusSystem, ["code"] = "active", ["display"] = "Active" }),
            };
            changed = true;
        }
        return changed;
    }

    private static bool RewriteUrls(JsonNode? node)
    {
        var changed = false;
        switch (node)
        {
            case JsonObject o:
                if (o["url"] is JsonValue v && v.TryGetValue<string>(out var url) && LegacyExtensionUrls.TryGetValue(url, out var current))
                {
                    o["url"] = current;
                    changed = true;
                }
                foreach (var (_, child) in o.ToList())
                    changed |= RewriteUrls(child);
                break;
            case JsonArray a:
                foreach (var child in a)
                    changed |= RewriteUrls(child);
                break;
        }
        return changed;
    }

    /// <summary>A visibility code (<see cref="VisibilityCodes"/>) as a securityLabel, with the display the DMP gives it.</summary>
    public static F.CodeableConcept VisibilityLabel(string code) =>
        new(VisibilitySystem, code, VisibilityDisplay(code), null);

    private static string? VisibilityDisplay(string code) => code switch
    {
        VisibilityCodes.MaskedToProfessionals => "Masqué aux professionnels de santé",
        VisibilityCodes.HiddenFromPatient => "Non visible par le patient",
        VisibilityCodes.HiddenFromLegalRepresentatives => "Non visible par les représentants légaux",
        _ => null,
    };
}
