namespace Dmp.Model;

/// <summary>How much a mapping note matters: information, or a warning kept on the message.</summary>
public enum NoteSeverity { Information, Warning }

/// <summary>What kind of note it is, for code that acts on notes (their text is for people and may change).</summary>
public enum MappingNoteCode
{
    /// <summary>Any note no code acts on: its text says it all.</summary>
    Other,
    /// <summary>No mapping rule covers the message: only the generic reading (MessageHeader, Patient from PID) applied.</summary>
    NoMappingRule,
}

/// <summary>Something the mapping wants the message to carry: a missing rule, an unmapped segment, a placeholder document.</summary>
public sealed record MappingNote(NoteSeverity Severity, string Text, MappingNoteCode Code = MappingNoteCode.Other);

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
