using Dmp.Mapping.Fhir.Projection;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir;

/// <summary>
/// The old name of the FHIR projection, kept only for callers outside Dmp.Mapping until they move: each member forwards
/// to its home (<see cref="BundleWriter"/>, <see cref="ResourceProjection"/>, the <c>Projection/</c> classes,
/// <see cref="CodeSystems"/>). New code calls those directly.
/// </summary>
public static class MessageBundle
{
    /// <inheritdoc cref="CodeSystems.Uri"/>
    public static string? CodeSystemUri(string? system) => CodeSystems.Uri(system);

    /// <inheritdoc cref="DocumentReferenceProjection.MasterIdentifier"/>
    public static F.Identifier DocumentIdentifier(Identifier id) => DocumentReferenceProjection.MasterIdentifier(id);

    /// <inheritdoc cref="ResourceProjection.ToResource"/>
    public static F.Resource ToResource(object record, string id, F.ResourceReference? subject = null) => ResourceProjection.ToResource(record, id, subject);

    /// <inheritdoc cref="DiagnosticReportProjection.ToFhir"/>
    public static F.DiagnosticReport ToFhir(DiagnosticReport report, string id, F.ResourceReference? subject, bool laboratoryCategory) =>
        DiagnosticReportProjection.ToFhir(report, id, subject, laboratoryCategory);
}
