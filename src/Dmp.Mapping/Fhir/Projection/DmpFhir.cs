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

    /// <summary>Our extensions and code systems (no published profile covers them yet).</summary>
    public const string DossierStatusExtension = "urn:dmp-ingest:fhir:extension:dmp-dossier-status";
    public const string MovementExtension = "urn:dmp-ingest:fhir:extension:movement";
    public const string DocumentActionExtension = "urn:dmp-ingest:fhir:extension:document-action";
    public const string RoutingExtension = "urn:dmp-ingest:fhir:extension:dmp-routing";
    public const string ConsentCategorySystem = "urn:dmp-ingest:fhir:consent-category";

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
