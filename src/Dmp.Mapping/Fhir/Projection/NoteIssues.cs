using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>Mapping notes as OperationOutcome issues: a missing rule is "not supported", other warnings "processing".</summary>
public static class NoteIssues
{
    public static F.OperationOutcome.IssueComponent Issue(MappingNote note)
    {
        ArgumentNullException.ThrowIfNull(note);
        return new()
        {
            Severity = note.Severity == NoteSeverity.Warning ? F.OperationOutcome.IssueSeverity.Warning : F.OperationOutcome.IssueSeverity.Information,
            Code = note.Code == MappingNoteCode.NoMappingRule ? F.OperationOutcome.IssueType.NotSupported
                : note.Severity == NoteSeverity.Warning ? F.OperationOutcome.IssueType.Processing : F.OperationOutcome.IssueType.Informational,
            Diagnostics = note.Text,
        };
    }
}
