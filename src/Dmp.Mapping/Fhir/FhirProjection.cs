using Dmp.Mapping.Fhir.Projection;

namespace Dmp.Mapping.Fhir;

/// <summary>
/// The old home of the Patient projection's constants, kept for callers outside Dmp.Mapping until they move to
/// <see cref="DmpFhir"/>; the projections themselves are in <c>Projection/</c>.
/// </summary>
public static class FhirProjection
{
    /// <inheritdoc cref="DmpFhir.IdentityReliabilityExtension"/>
    public const string IdentityReliabilityExtension = DmpFhir.IdentityReliabilityExtension;
}
