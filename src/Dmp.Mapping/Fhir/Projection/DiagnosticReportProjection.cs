using Dmp.Model;
using static Dmp.Mapping.Fhir.Projection.FhirValues;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>A report (OBR, a CDA lab report) as a FHIR DiagnosticReport; its results and specimen are linked by the caller.</summary>
public static class DiagnosticReportProjection
{
    /// <summary>A report without its results and specimen (the caller links those); a report read from a document is also laboratory.</summary>
    public static F.DiagnosticReport ToFhir(DiagnosticReport report, string id, F.ResourceReference? subject, bool laboratoryCategory)
    {
        ArgumentNullException.ThrowIfNull(report);
        var resource = new F.DiagnosticReport
        {
            Id = id,
            Status = ReportStatus(report.Status),
            Code = Concept(report.Code) ?? new F.CodeableConcept { Text = "unknown" },
            Subject = subject,
            Effective = ToDateTime(report.EffectiveAt),
            Issued = ToInstant(report.IssuedAt),
        };
        if (laboratoryCategory)
            resource.Category.Add(new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB"));
        if (report.Id is { } rid)
            resource.Identifier.Add(ToIdentifier(rid));
        return resource;
    }

    private static F.DiagnosticReport.DiagnosticReportStatus ReportStatus(string? status) => status switch
    {
        "registered" => F.DiagnosticReport.DiagnosticReportStatus.Registered,
        "partial" => F.DiagnosticReport.DiagnosticReportStatus.Partial,
        "preliminary" => F.DiagnosticReport.DiagnosticReportStatus.Preliminary,
        "final" => F.DiagnosticReport.DiagnosticReportStatus.Final,
        "amended" => F.DiagnosticReport.DiagnosticReportStatus.Amended,
        "corrected" => F.DiagnosticReport.DiagnosticReportStatus.Corrected,
        "cancelled" => F.DiagnosticReport.DiagnosticReportStatus.Cancelled,
        "entered-in-error" => F.DiagnosticReport.DiagnosticReportStatus.EnteredInError,
        _ => F.DiagnosticReport.DiagnosticReportStatus.Unknown,
    };
}
