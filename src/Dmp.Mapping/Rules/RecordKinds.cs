using System.Globalization;
using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Rules;

/// <summary>What a builder gets: the values the rule's fields produced (by slot), nested records, the run.</summary>
internal readonly struct RecordInput(object?[] slots, List<object>? children, MapRun run, int segmentIndex)
{
    public MapRun Run => run;
    public int SegmentIndex => segmentIndex;
    public IReadOnlyList<object> Children => (IReadOnlyList<object>?)children ?? [];
    public string? Text(int i) => slots[i] as string;
    public PartialDateTime? Date(int i) => slots[i] as PartialDateTime;
    public bool? Flag(int i) => slots[i] as bool?;
    public decimal? Number(int i) => slots[i] as decimal?;
    public int? Integer(int i) => slots[i] as int?;
    public Code? Code(int i) => slots[i] as Code;
    public Identifier? Id(int i) => slots[i] as Identifier;
    public IReadOnlyList<Identifier> Ids(int i) => slots[i] as IReadOnlyList<Identifier> ?? [];
    public IReadOnlyList<PersonName> Names(int i) => slots[i] as IReadOnlyList<PersonName> ?? [];
    public IReadOnlyList<Address> Addresses(int i) => slots[i] as IReadOnlyList<Address> ?? [];
    public Practitioner? Person(int i) => slots[i] as Practitioner;
    public Hl7Field? Element(int i) => slots[i] as Hl7Field?;
    public IReadOnlyDictionary<string, string> Map(int i) => slots[i] as IReadOnlyDictionary<string, string> ?? EmptyMap;
    public bool Has(int i) => slots[i] is not null;

    private static readonly Dictionary<string, string> EmptyMap = [];
}

/// <summary>A model record a rule can fill: its field names and shapes, and how the record is built from them.</summary>
internal sealed class RecordKind
{
    private readonly Dictionary<string, int> _slots;

    public RecordKind(string name, string summary, (string Field, Shape Shape)[] fields, Func<RecordInput, object?> build)
    {
        Name = name;
        Summary = summary;
        Fields = fields;
        Build = build;
        _slots = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < fields.Length; i++)
            _slots[fields[i].Field] = i;
    }

    public string Name { get; }
    public string Summary { get; }
    public (string Field, Shape Shape)[] Fields { get; }
    public Func<RecordInput, object?> Build { get; }

    public bool TryGetSlot(string field, out int slot, out Shape shape)
    {
        if (_slots.TryGetValue(field, out slot))
        {
            shape = Fields[slot].Shape;
            return true;
        }
        shape = default;
        return false;
    }
}

/// <summary>The model records rules can fill. Field order is slot order: builders read slots by index.</summary>
internal static class RecordKinds
{
    public static readonly IReadOnlyDictionary<string, RecordKind> All = new[]
    {
        PatientKind(), DossierKind(), EncounterKind(), MergeKind(), DocumentKind(), ReportKind(), ObservationKind(),
        AllergyKind(), ProblemKind(), MedicationKind(), ImmunizationKind(), ProcedureKind(),
    }.ToDictionary(k => k.Name, StringComparer.Ordinal);

    private static RecordKind PatientKind() => new("patient", "a patient (PID): INS apart from local identifiers",
    [
        ("identifiers", Shape.Identifiers), ("identityStatus", Shape.Text), ("names", Shape.Names), ("birthDate", Shape.Date),
        ("sex", Shape.Text), ("birthPlace", Shape.Text), ("addresses", Shape.Addresses), ("deceased", Shape.Flag),
        ("deceasedAt", Shape.Date), ("identityCheckMode", Shape.Text), ("insiQueriedAt", Shape.Date), ("identityEvidence", Shape.Text),
        ("smsConsent", Shape.Flag),
    ], s =>
    {
        Identifier? ins = null;
        var locals = new List<Identifier>();
        foreach (var id in s.Ids(0))
        {
            if (ins is null && Oids.IsIns(id.System))
                ins = id;
            else
                locals.Add(id);
        }
        IdentityCheck? check = s.Has(9) || s.Has(10) || s.Has(11) || s.Has(12)
            ? new IdentityCheck(s.Text(9), s.Date(10), s.Text(11), s.Flag(12))
            : null;
        var deceasedAt = s.Date(8);
        return new Patient
        {
            Ins = ins,
            IdentityStatus = s.Text(1),
            LocalIdentifiers = locals,
            Names = s.Names(2),
            BirthDate = s.Date(3),
            Sex = s.Text(4),
            BirthPlace = s.Text(5),
            Addresses = s.Addresses(6),
            Deceased = s.Flag(7) ?? (deceasedAt is null ? null : true),
            DeceasedAt = deceasedAt,
            IdentityCheck = check,
        };
    });

    private static RecordKind DossierKind() => new("dossier", "the patient's DMP status and choices (ZFA)",
    [
        ("status", Shape.Text), ("statusDate", Shape.Date), ("closedAt", Shape.Date), ("opposesFeeding", Shape.Text),
        ("feedingChoiceDate", Shape.Date), ("consentsToConsultation", Shape.Text), ("consultationChoiceDate", Shape.Date),
        ("facilityAuthorised", Shape.Flag), ("facilityAuthorisedAt", Shape.Date), ("opposesEmergencyAccess", Shape.Flag),
        ("opposesRegulationCentreAccess", Shape.Flag),
    ], s => new DossierChoices
    {
        Status = s.Text(0) switch { "open" => DossierStatus.Open, "closed" => DossierStatus.Closed, "absent" => DossierStatus.Absent, _ => null },
        StatusDate = s.Date(1),
        ClosedAt = s.Date(2),
        OpposesFeeding = ToChoice(s.Text(3)),
        FeedingChoiceDate = s.Date(4),
        ConsentsToConsultation = ToChoice(s.Text(5)),
        ConsultationChoiceDate = s.Date(6),
        FacilityAuthorised = s.Flag(7),
        FacilityAuthorisedAt = s.Date(8),
        OpposesEmergencyAccess = s.Flag(9),
        OpposesRegulationCentreAccess = s.Flag(10),
        Provenance = s.Run.Provenance,
    });

    private static Choice ToChoice(string? text) => text switch { "yes" => Choice.Yes, "no" => Choice.No, _ => Choice.NotCollected };

    private static RecordKind EncounterKind() => new("encounter", "a stay (PV1) and its movement (ZBE)",
    [
        ("id", Shape.Identifier), ("class", Shape.Text), ("status", Shape.Text), ("location", Shape.Text), ("start", Shape.Date),
        ("end", Shape.Date), ("attending", Shape.Person), ("movementId", Shape.Identifier), ("movementAt", Shape.Date),
        ("movementAction", Shape.Text), ("movementHistoric", Shape.Flag), ("movementUnit", Shape.Text), ("movementMode", Shape.Text),
        ("event", Shape.Text),
    ], s =>
    {
        var movements = new List<Movement>(1);
        if (s.Has(7) || s.Has(8) || s.Has(9))
        {
            movements.Add(new Movement
            {
                Id = s.Id(7), At = s.Date(8), Action = s.Text(9), Historic = s.Flag(10), MedicalUnit = s.Text(11), Mode = s.Text(12), Event = s.Text(13),
            });
        }
        return new Encounter
        {
            Id = s.Id(0), Class = s.Text(1), Status = s.Text(2), Location = s.Text(3), Start = s.Date(4), End = s.Date(5),
            Attending = s.Person(6), Movements = movements, Provenance = s.Run.Provenance,
        };
    });

    private static RecordKind MergeKind() => new("merge", "an identity merge (MRG): the merged identifiers",
    [("identifiers", Shape.Identifiers)],
    s => s.Ids(0).Count == 0 ? null : new PatientMerge { MergedIdentifiers = s.Ids(0), Provenance = s.Run.Provenance });

    private static RecordKind ReportKind() => new("report", "a report (OBR) with its observations as nested records",
    [
        ("id", Shape.Identifier), ("code", Shape.Code), ("status", Shape.Text), ("effectiveAt", Shape.Date), ("issuedAt", Shape.Date),
        ("specimenId", Shape.Identifier), ("specimenType", Shape.Code), ("specimenCollectedAt", Shape.Date),
    ], s =>
    {
        var results = new List<Observation>();
        foreach (var child in s.Children)
        {
            if (child is Observation o)
                results.Add(o);
            else
                s.Run.Add(child);
        }
        return new DiagnosticReport
        {
            Id = s.Id(0), Code = s.Code(1), Status = s.Text(2), EffectiveAt = s.Date(3), IssuedAt = s.Date(4),
            Specimen = s.Has(5) || s.Has(6) ? new Specimen(s.Id(5), s.Code(6), s.Date(7)) : null,
            Results = results, Provenance = s.Run.Provenance,
        };
    });

    private static RecordKind ObservationKind() => new("observation", "an observation (OBX): value read by its type (OBX-2)",
    [
        ("code", Shape.Code), ("valueType", Shape.Text), ("value", Shape.Element), ("unit", Shape.Code), ("range", Shape.Text),
        ("interpretation", Shape.Text), ("status", Shape.Text), ("effectiveAt", Shape.Date), ("setId", Shape.Integer),
    ], s =>
    {
        var type = s.Text(1);
        var value = s.Element(2) is { } element ? ObservationValues.Read(element, type, s.Run) : null;
        var range = s.Text(4) is { } text ? ObservationValues.Range(text) : null;
        var interpretation = s.Text(5) is { } flag ? new[] { flag } : [];
        return new Observation
        {
            Code = s.Code(0), ValueType = type, Value = value, Unit = s.Code(3), Range = range, Interpretation = interpretation,
            Status = s.Text(6), EffectiveAt = s.Date(7), SetId = s.Integer(8), Provenance = s.Run.Provenance,
        };
    });

    private static RecordKind AllergyKind() => new("allergy", "an allergy or intolerance (AL1, IAM)",
    [
        ("substance", Shape.Code), ("type", Shape.Text), ("category", Shape.Text), ("criticality", Shape.Text), ("reaction", Shape.Text),
        ("identifiedAt", Shape.Date), ("clinicalStatus", Shape.Text),
    ], s => s.Code(0) is null ? null : new Allergy
    {
        Substance = s.Code(0), Type = s.Text(1), Category = s.Text(2), Criticality = s.Text(3), Reaction = s.Text(4), IdentifiedAt = s.Date(5),
        ClinicalStatus = s.Text(6), Provenance = s.Run.Provenance,
    });

    private static RecordKind ProblemKind() => new("problem", "a problem or history entry (DG1, PRB)",
    [
        ("kind", Shape.Text), ("code", Shape.Code), ("recordedAt", Shape.Date), ("onsetAt", Shape.Date), ("diagnosisType", Shape.Text),
        ("clinicalStatus", Shape.Text), ("category", Shape.Text),
    ],
    s => s.Code(1) is null ? null : new Problem
    {
        Kind = s.Text(0) == "history" ? Model.ProblemKind.History : Model.ProblemKind.Problem,
        Code = s.Code(1), RecordedAt = s.Date(2), OnsetAt = s.Date(3), DiagnosisType = s.Text(4), ClinicalStatus = s.Text(5), Category = s.Text(6),
        Provenance = s.Run.Provenance,
    });

    private static RecordKind MedicationKind() => new("medication", "a medication prescribed (RXE/RXO), dispensed (RXD) or administered",
    [
        ("kind", Shape.Text), ("drug", Shape.Code), ("dosageText", Shape.Text), ("quantity", Shape.Number), ("quantityUnit", Shape.Text),
        ("route", Shape.Code), ("at", Shape.Date), ("orderId", Shape.Identifier), ("prescriber", Shape.Person), ("dispenser", Shape.Person),
    ], s => s.Code(1) is null ? null : new Medication
    {
        Kind = s.Text(0) switch { "dispensed" => Model.MedicationKind.Dispensed, "administered" => Model.MedicationKind.Administered, _ => Model.MedicationKind.Prescribed },
        Drug = s.Code(1), DosageText = s.Text(2), Quantity = s.Number(3), QuantityUnit = s.Text(4), Route = s.Code(5), At = s.Date(6),
        OrderId = s.Id(7), Prescriber = s.Person(8), Dispenser = s.Person(9), Provenance = s.Run.Provenance,
    });

    private static RecordKind ImmunizationKind() => new("immunization", "a vaccination (RXA)",
    [("vaccine", Shape.Code), ("occurredAt", Shape.Date), ("lotNumber", Shape.Text), ("dose", Shape.Number), ("doseUnit", Shape.Text), ("status", Shape.Text)],
    s => s.Code(0) is null ? null : new Immunization
    {
        Vaccine = s.Code(0), OccurredAt = s.Date(1), LotNumber = s.Text(2), Dose = s.Number(3), DoseUnit = s.Text(4), Status = s.Text(5),
        Provenance = s.Run.Provenance,
    });

    private static RecordKind ProcedureKind() => new("procedure", "an important procedure (PR1)",
    [("code", Shape.Code), ("performedAt", Shape.Date), ("performer", Shape.Person)],
    s => s.Code(0) is null ? null : new Procedure { Code = s.Code(0), PerformedAt = s.Date(1), Performer = s.Person(2), Provenance = s.Run.Provenance });

    private static RecordKind DocumentKind() => new("document", "a document carried in the message (CI-SIS CDA in HL7 v2: OBX of type ED)",
    [
        ("uniqueId", Shape.Identifier), ("setId", Shape.Identifier), ("version", Shape.Integer), ("replaces", Shape.Identifier),
        ("type", Shape.Code), ("class", Shape.Code), ("title", Shape.Text), ("createdAt", Shape.Date), ("serviceStart", Shape.Date),
        ("serviceStop", Shape.Date), ("author", Shape.Person), ("authorOrganisation", Shape.Identifier), ("confidentiality", Shape.Code),
        ("content", Shape.Element), ("action", Shape.Text), ("flags", Shape.Map), ("validated", Shape.Flag), ("sourceFacility", Shape.Text),
    ], s => EmbeddedDocuments.Build(s));

    internal static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
