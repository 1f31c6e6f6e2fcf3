using System.Buffers;
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
    // Segment ids as the 3-byte keys of Hl7Scan.Key: comparing two ints instead of two strings is what makes the
    // many "which segment is PID-3 in" lookups of a rule cheap.
    private readonly int[] _keys;

    /// <param name="zone">The sender's zone (the rule's `zone:`), for MSH-7 when it has no offset; UTC when null.</param>
    public MapRun(Hl7Message message, MessageInfo info, TimeZoneInfo? zone = null)
    {
        Message = message;
        Info = info;
        _keys = new int[message.SegmentCount];
        for (var i = 0; i < _keys.Length; i++)
            _keys[i] = Hl7Scan.Key(message.GetSegment(i).RawBytes);
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

    // Where each field of a segment starts, found once per segment read (most rules read many fields of PID, PV1,
    // OBX …): the field separators' offsets, segment after segment, and per segment where its run begins (-1: not
    // yet scanned; -2: a header segment, whose fields MSH-1 and MSH-2 are numbered apart). Rented; see Release.
    private int[] _separators = [];
    private int _separatorsUsed;
    private int[] _fieldRuns = [];

    /// <summary>
    /// Field <paramref name="n"/> of the segment at <paramref name="segment"/>: what
    /// <c>Message.GetSegment(segment).GetField(n)</c> gives, without scanning the segment again for each field.
    /// </summary>
    public Hl7Field Field(int segment, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (_fieldRuns.Length == 0)
        {
            _fieldRuns = ArrayPool<int>.Shared.Rent(2 * _keys.Length);
            _fieldRuns.AsSpan(0, 2 * _keys.Length).Fill(-1);
        }
        var from = _fieldRuns[2 * segment];
        if (from == -1)
            from = ScanFields(segment);
        if (from == -2)
            return Message.GetSegment(segment).GetField(n);
        var count = _fieldRuns[2 * segment + 1];
        var segmentEnd = Message.SegmentStart(segment) + Message.SegmentLength(segment);
        // Field n follows the n-th separator (the first one follows the segment id).
        if (n > count)
            return new Hl7Field(Message, segmentEnd, 0, Hl7Field.Level.Field);
        var start = _separators[from + n - 1] + 1;
        var end = n < count ? _separators[from + n] : segmentEnd;
        return new Hl7Field(Message, start, end - start, Hl7Field.Level.Field);
    }

    private int ScanFields(int segment)
    {
        var data = Message.GetSegment(segment);
        if (data.IsHeader)
        {
            _fieldRuns[2 * segment] = -2;
            return -2;
        }
        var raw = data.RawBytes;
        var separator = Message.Delimiters.Field;
        var count = raw.Count(separator);
        if (_separatorsUsed + count > _separators.Length)
        {
            var bigger = ArrayPool<int>.Shared.Rent(Math.Max(64, 2 * (_separatorsUsed + count)));
            _separators.AsSpan(0, _separatorsUsed).CopyTo(bigger);
            if (_separators.Length > 0)
                ArrayPool<int>.Shared.Return(_separators);
            _separators = bigger;
        }
        var from = _separatorsUsed;
        _separatorsUsed += Hl7Scan.IndexesOf(raw, separator, _separators.AsSpan(from), Message.SegmentStart(segment));
        _fieldRuns[2 * segment] = from;
        _fieldRuns[2 * segment + 1] = count;
        return from;
    }

    /// <summary>Gives back the rented buffers; the run reads no field afterwards.</summary>
    public void Release()
    {
        if (_separators.Length > 0)
            ArrayPool<int>.Shared.Return(_separators);
        if (_fieldRuns.Length > 0)
            ArrayPool<int>.Shared.Return(_fieldRuns);
        _separators = [];
        _fieldRuns = [];
        _separatorsUsed = 0;
    }

    /// <summary>The rule set mapping this message: embedded CDA documents are read with its document rules.</summary>
    public RuleSet? Rules { get; init; }
    public MessageInfo Info { get; }
    public Provenance Provenance { get; }
    public int SegmentCount => _keys.Length;

    /// <summary>The id of the segment at an index (a shared string: no allocation).</summary>
    public string IdAt(int index) => Message.GetSegment(index).Id;

    /// <summary>The id of the segment at an index as its <see cref="Hl7Scan.Key(string)"/>.</summary>
    public int KeyAt(int index) => _keys[index];

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
    public int Find(in MapScope scope, string id, int occurrence) => Find(scope, Hl7Scan.Key(id), occurrence);

    /// <summary>The index of the <paramref name="occurrence"/>-th segment with the key <paramref name="key"/> as the scope sees it, or -1.</summary>
    public int Find(in MapScope scope, int key, int occurrence)
    {
        var keys = _keys;
        if (occurrence == 1 && scope.Current >= 0 && keys[scope.Current] == key)
            return scope.Current;
        var n = occurrence;
        for (var i = scope.Start; i < scope.End; i++)
        {
            if (keys[i] == key && --n == 0)
                return i;
        }
        if (scope.Start == 0 && scope.End == keys.Length)
            return -1;
        n = occurrence;
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] == key && --n == 0)
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
