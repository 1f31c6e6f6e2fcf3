using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Mapping.Rules;

/// <summary>
/// Where a compiled rule is reading: a range of segments [Start, End) and the segment being iterated (Current,
/// or -1). A path whose segment is the current one reads it; otherwise the first such segment in the range,
/// then in the whole message.
/// </summary>
internal readonly record struct MapScope(MapRun Run, int Start, int End, int Current);

/// <summary>The state of mapping one message: the segment ids (read once), what was produced, notes and the first error.</summary>
internal sealed class MapRun
{
    private readonly string[] _ids;

    /// <param name="zone">The sender's zone (the rule's `zone:`), for MSH-7 when it has no offset; UTC when null.</param>
    public MapRun(Hl7Message message, MessageInfo info, TimeZoneInfo? zone = null)
    {
        Message = message;
        Info = info;
        _ids = new string[message.SegmentCount];
        for (var i = 0; i < _ids.Length; i++)
            _ids[i] = message.GetSegment(i).Id;
        Provenance = new Provenance(info.Sender, info.ControlId, info.MessageType is null ? null : $"{info.MessageType}^{info.TriggerEvent}",
            RecordedAt(info.SentAt, zone ?? TimeZoneInfo.Utc));
    }

    /// <summary>MSH-7 as an instant: its own offset, else the zone's offset at that local time; null when it has no time (a day only).</summary>
    internal static DateTimeOffset? RecordedAt(PartialDateTime? sent, TimeZoneInfo zone)
    {
        if (sent is null || sent.Precision <= DateTimePrecision.Day)
            return null;
        var local = DateTime.SpecifyKind(sent.Value, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, sent.Offset ?? zone.GetUtcOffset(local));
    }

    public Hl7Message Message { get; }

    /// <summary>The rule set mapping this message: embedded CDA documents are read with its document rules.</summary>
    public RuleSet? Rules { get; init; }
    public MessageInfo Info { get; }
    public Provenance Provenance { get; }
    public int SegmentCount => _ids.Length;
    public string IdAt(int index) => _ids[index];

    public List<Patient> Patients { get; } = [];
    public List<DossierChoices> Choices { get; } = [];
    public List<Encounter> Encounters { get; } = [];
    public List<Document> Documents { get; } = [];
    public List<DiagnosticReport> Reports { get; } = [];
    public List<Observation> Observations { get; } = [];
    public List<Allergy> Allergies { get; } = [];
    public List<Problem> Problems { get; } = [];
    public List<Medication> Medications { get; } = [];
    public List<Immunization> Immunizations { get; } = [];
    public List<Procedure> Procedures { get; } = [];
    public List<PatientMerge> Merges { get; } = [];
    public List<MappingNote> Notes { get; } = [];
    public MapError? Error { get; private set; }

    public void Fail(MapError error) => Error ??= error;

    public void Warn(string text) => Notes.Add(new MappingNote(NoteSeverity.Warning, text));

    public void Add(object record)
    {
        switch (record)
        {
            case Patient p: Patients.Add(p); break;
            case DossierChoices c: Choices.Add(c); break;
            case Encounter e: Encounters.Add(e); break;
            case Document d: Documents.Add(d); break;
            case DiagnosticReport r: Reports.Add(r); break;
            case Observation o: Observations.Add(o); break;
            case Allergy a: Allergies.Add(a); break;
            case Problem p: Problems.Add(p); break;
            case Medication m: Medications.Add(m); break;
            case Immunization i: Immunizations.Add(i); break;
            case Procedure p: Procedures.Add(p); break;
            case PatientMerge m: Merges.Add(m); break;
            default: throw new InvalidOperationException($"no place for a {record.GetType().Name}");
        }
    }

    /// <summary>The index of the <paramref name="occurrence"/>-th segment <paramref name="id"/> as the scope sees it, or -1.</summary>
    public int Find(in MapScope scope, string id, int occurrence)
    {
        if (occurrence == 1 && scope.Current >= 0 && string.Equals(_ids[scope.Current], id, StringComparison.Ordinal))
            return scope.Current;
        var n = occurrence;
        for (var i = scope.Start; i < scope.End; i++)
        {
            if (string.Equals(_ids[i], id, StringComparison.Ordinal) && --n == 0)
                return i;
        }
        if (scope.Start == 0 && scope.End == _ids.Length)
            return -1;
        n = occurrence;
        for (var i = 0; i < _ids.Length; i++)
        {
            if (string.Equals(_ids[i], id, StringComparison.Ordinal) && --n == 0)
                return i;
        }
        return -1;
    }

    public MappedMessage ToModel(string? rule) => new()
    {
        Info = Info,
        Rule = rule,
        Patients = Patients,
        Choices = Choices,
        Encounters = Encounters,
        Documents = Documents,
        Reports = Reports,
        Observations = Observations,
        Allergies = Allergies,
        Problems = Problems,
        Medications = Medications,
        Immunizations = Immunizations,
        Procedures = Procedures,
        Merges = Merges,
        Notes = Notes,
        Provenance = Provenance,
    };

    internal static PartialDateTime ToPartial(Hl7DateTime value, TimeZoneInfo? zone)
    {
        var partial = value.ToPartial();
        if (zone is not null && partial.Offset is null && partial.Precision > DateTimePrecision.Day)
            partial = partial with { Offset = zone.GetUtcOffset(value.Local) };
        return partial;
    }
}
