namespace Dmp.Model;

/// <summary>How much a mapping note matters: information, or a warning kept on the message.</summary>
public enum NoteSeverity { Information, Warning }

/// <summary>Something the mapping wants the message to carry: a missing rule, an unmapped segment, a placeholder document.</summary>
public sealed record MappingNote(NoteSeverity Severity, string Text);

/// <summary>What one inbound message means in the DMP model: its patients, choices, documents and entries.</summary>
public sealed record MappedMessage
{
    public required MessageInfo Info { get; init; }
    /// <summary>The rule that mapped the message (null when only the generic reading applied).</summary>
    public string? Rule { get; init; }
    public IReadOnlyList<Patient> Patients { get; init; } = [];
    public IReadOnlyList<DossierChoices> Choices { get; init; } = [];
    public IReadOnlyList<Encounter> Encounters { get; init; } = [];
    public IReadOnlyList<Document> Documents { get; init; } = [];
    public IReadOnlyList<DiagnosticReport> Reports { get; init; } = [];
    public IReadOnlyList<Observation> Observations { get; init; } = [];
    public IReadOnlyList<Allergy> Allergies { get; init; } = [];
    public IReadOnlyList<Problem> Problems { get; init; } = [];
    public IReadOnlyList<Medication> Medications { get; init; } = [];
    public IReadOnlyList<Immunization> Immunizations { get; init; } = [];
    public IReadOnlyList<Procedure> Procedures { get; init; } = [];
    public IReadOnlyList<PatientMerge> Merges { get; init; } = [];
    public IReadOnlyList<MappingNote> Notes { get; init; } = [];
    /// <summary>Where the message came from (sender, MSH-10, MSH-7 as an instant when it has a time); null for older callers.</summary>
    public Provenance? Provenance { get; init; }
}
