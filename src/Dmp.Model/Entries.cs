namespace Dmp.Model;

/// <summary>An allergy or intolerance (AL1, IAM).</summary>
public sealed record Allergy
{
    public Code? Substance { get; init; }
    /// <summary>allergy or intolerance.</summary>
    public string? Type { get; init; }
    /// <summary>food, medication, environment or biologic.</summary>
    public string? Category { get; init; }
    /// <summary>low, high or unable-to-assess (FHIR criticality).</summary>
    public string? Criticality { get; init; }
    public string? Reaction { get; init; }
    public PartialDateTime? IdentifiedAt { get; init; }
    /// <summary>active, inactive or resolved when the source says so (FHIR clinicalStatus); null when it says nothing.</summary>
    public string? ClinicalStatus { get; init; }
    public required Provenance Provenance { get; init; }
}

/// <summary>Whether a medication entry was prescribed, dispensed, administered, or reported as taken (a CDA medication list).</summary>
public enum MedicationKind { Prescribed, Dispensed, Administered, Reported }

/// <summary>A medication prescribed (RXE/RXO), dispensed (RXD) or administered.</summary>
public sealed record Medication
{
    public MedicationKind Kind { get; init; }
    public Code? Drug { get; init; }
    public string? DosageText { get; init; }
    public decimal? Quantity { get; init; }
    public string? QuantityUnit { get; init; }
    public Code? Route { get; init; }
    public PartialDateTime? At { get; init; }
    public Identifier? OrderId { get; init; }
    public Practitioner? Prescriber { get; init; }
    /// <summary>Who dispensed it (RXD-10), for a dispensed medication.</summary>
    public Practitioner? Dispenser { get; init; }
    public required Provenance Provenance { get; init; }
}

/// <summary>A current problem or a past one (antécédent).</summary>
public enum ProblemKind { Problem, History }

/// <summary>A problem or history entry (DG1, PRB).</summary>
public sealed record Problem
{
    public ProblemKind Kind { get; init; }
    public Code? Code { get; init; }
    public PartialDateTime? RecordedAt { get; init; }
    public PartialDateTime? OnsetAt { get; init; }
    /// <summary>Diagnosis type as sent (DG1-6: A admitting, W working, F final …).</summary>
    public string? DiagnosisType { get; init; }
    /// <summary>FHIR condition clinical status (active, recurrence, relapse, inactive, remission, resolved) when the source says it (PRB-14).</summary>
    public string? ClinicalStatus { get; init; }
    /// <summary>FHIR condition category (problem-list-item for PRB, encounter-diagnosis for DG1) when the rule says it; otherwise from <see cref="Kind"/>.</summary>
    public string? Category { get; init; }
    public required Provenance Provenance { get; init; }
}

/// <summary>A reference range as the sender wrote it, with its bounds when they are numbers.</summary>
public sealed record ReferenceRange(string Text, decimal? Low, decimal? High);

/// <summary>An observation value: one of a quantity, a code, a text, a date, or a ratio/comparator (SN).</summary>
public sealed record ObservationValue
{
    public decimal? Number { get; init; }
    /// <summary>SN comparator (`&lt;`, `&gt;`, `&lt;=` …) when the value is bounded.</summary>
    public string? Comparator { get; init; }
    /// <summary>SN second number, when the value is a ratio or range (SN separator in <see cref="Separator"/>).</summary>
    public decimal? Number2 { get; init; }
    public string? Separator { get; init; }
    public Code? Coded { get; init; }
    public string? Text { get; init; }
    public PartialDateTime? Date { get; init; }
}

/// <summary>A lab (or other) observation: LOINC code, value, UCUM unit, range, flag, status.</summary>
public sealed record Observation
{
    public Code? Code { get; init; }
    /// <summary>HL7 value type as sent (OBX-2).</summary>
    public string? ValueType { get; init; }
    public ObservationValue? Value { get; init; }
    public Code? Unit { get; init; }
    public ReferenceRange? Range { get; init; }
    public IReadOnlyList<string> Interpretation { get; init; } = [];
    /// <summary>FHIR observation status (final, preliminary, corrected …).</summary>
    public string? Status { get; init; }
    public PartialDateTime? EffectiveAt { get; init; }
    public int? SetId { get; init; }
    /// <summary>FHIR observation category (laboratory, vital-signs, imaging …) when the source says it.</summary>
    public string? Category { get; init; }
    public required Provenance Provenance { get; init; }
}

/// <summary>A specimen, when the message describes a simple one.</summary>
public sealed record Specimen(Identifier? Id, Code? Type, PartialDateTime? CollectedAt);

/// <summary>A report grouping observations (OBR with its OBX).</summary>
public sealed record DiagnosticReport
{
    public Identifier? Id { get; init; }
    public Code? Code { get; init; }
    public string? Status { get; init; }
    public PartialDateTime? EffectiveAt { get; init; }
    public PartialDateTime? IssuedAt { get; init; }
    public Specimen? Specimen { get; init; }
    public IReadOnlyList<Observation> Results { get; init; } = [];
    public required Provenance Provenance { get; init; }
}

/// <summary>An important procedure.</summary>
public sealed record Procedure
{
    public Code? Code { get; init; }
    public PartialDateTime? PerformedAt { get; init; }
    public Practitioner? Performer { get; init; }
    public required Provenance Provenance { get; init; }
}

/// <summary>A vaccination (RXA).</summary>
public sealed record Immunization
{
    public Code? Vaccine { get; init; }
    public PartialDateTime? OccurredAt { get; init; }
    public string? LotNumber { get; init; }
    public decimal? Dose { get; init; }
    public string? DoseUnit { get; init; }
    /// <summary>FHIR immunization status: completed, entered-in-error, not-done.</summary>
    public string? Status { get; init; }
    public required Provenance Provenance { get; init; }
}

/// <summary>A movement within a stay (PAM France ZBE): its id, time, action and medical unit.</summary>
public sealed record Movement
{
    public Identifier? Id { get; init; }
    public PartialDateTime? At { get; init; }
    /// <summary>INSERT, UPDATE or CANCEL.</summary>
    public string? Action { get; init; }
    public bool? Historic { get; init; }
    public string? MedicalUnit { get; init; }
    public string? Mode { get; init; }
    /// <summary>The trigger event that made the movement (A01, A02 …).</summary>
    public string? Event { get; init; }
}

/// <summary>A hospital stay (PV1) with its movements.</summary>
public sealed record Encounter
{
    public Identifier? Id { get; init; }
    /// <summary>FHIR v3 ActCode class (IMP, AMB, EMER …).</summary>
    public string? Class { get; init; }
    /// <summary>FHIR encounter status (planned, in-progress, finished, cancelled …).</summary>
    public string? Status { get; init; }
    public string? Location { get; init; }
    public PartialDateTime? Start { get; init; }
    public PartialDateTime? End { get; init; }
    public Practitioner? Attending { get; init; }
    public IReadOnlyList<Movement> Movements { get; init; } = [];
    public required Provenance Provenance { get; init; }
}

/// <summary>An identity merge (ADT A40): the message's patient survives, the merged identity links to it.</summary>
public sealed record PatientMerge
{
    public IReadOnlyList<Identifier> MergedIdentifiers { get; init; } = [];
    public required Provenance Provenance { get; init; }
}
