using System.Security.Cryptography;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir;

/// <summary>
/// Assembles what one message means (<see cref="MappedMessage"/>) into a collection Bundle: MessageHeader, Patients
/// (with merges as links), Consents for the DMP choices, Encounters, DocumentReferences, reports and entries, each
/// projected by its <c>Projection/</c> class. Ids are deterministic; references point inside the Bundle or are logical
/// (identifier + display).
/// </summary>
public static class BundleWriter
{
    /// <summary>Appends one HL7 v2 message's resources to <paramref name="bundle"/> and its notes to <paramref name="outcome"/>.</summary>
    public static void AppendMessage(F.Bundle bundle, F.OperationOutcome outcome, MappedMessage m, ReadOnlySpan<byte> raw)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(m);
        var info = m.Info;
        var messageKey = Convert.ToHexString(SHA256.HashData(raw));
        var headerAt = bundle.Entry.Count;
        var focus = new List<F.ResourceReference>();
        F.ResourceReference? subject = null;
        F.Patient? survivor = null;
        for (var i = 0; i < m.Patients.Count; i++)
        {
            var patient = m.Patients[i];
            var key = patient.Ins ?? patient.LocalIdentifiers.FirstOrDefault();
            var resource = PatientProjection.ToFhir(patient, PatientId(key, info.ControlId, i));
            if (i == 0 && m.Choices.FirstOrDefault(c => c.Status is not null) is { Status: { } status })
                resource.Extension.Add(new F.Extension(DmpFhir.DossierStatusExtension, new F.Code(status switch { DossierStatus.Open => "open", DossierStatus.Closed => "closed", _ => "absent" })));
            Add(bundle, resource);
            var reference = Ref(resource);
            focus.Add(reference);
            subject ??= Ref(resource);
            survivor ??= resource;
        }

        foreach (var merge in m.Merges)
        {
            if (survivor is null)
                break;
            var first = merge.MergedIdentifiers.FirstOrDefault(id => Oids.IsIns(id.System)) ?? merge.MergedIdentifiers[0];
            var merged = PatientProjection.ToFhir(new Patient { LocalIdentifiers = merge.MergedIdentifiers.Where(id => !Oids.IsIns(id.System)).ToList(), Ins = merge.MergedIdentifiers.FirstOrDefault(id => Oids.IsIns(id.System)) }, PatientId(first, info.ControlId, 99));
            if (merged.Id == survivor.Id)
                continue;
            merged.Active = false;
            merged.Link.Add(new F.Patient.LinkComponent { Other = Ref(survivor), Type = F.Patient.LinkType.ReplacedBy });
            survivor.Link.Add(new F.Patient.LinkComponent { Other = Ref(merged), Type = F.Patient.LinkType.Replaces });
            Add(bundle, merged);
        }

        var owner = subject?.Reference ?? info.Sender + "|" + info.ControlId;
        foreach (var choices in m.Choices)
        {
            if (subject is null)
                break;
            foreach (var consent in ConsentProjection.ToFhir(choices, owner, subject))
                Add(bundle, consent);
        }

        for (var i = 0; i < m.Encounters.Count; i++)
            Add(bundle, EncounterProjection.ToFhir(m.Encounters[i], EncounterId(m.Encounters[i], info, i), subject));

        for (var i = 0; i < m.Documents.Count; i++)
        {
            var document = m.Documents[i];
            Add(bundle, DocumentReferenceProjection.ToFhir(document, DeterministicId.From("DocumentReference", document.UniqueId?.System, document.UniqueId?.Value ?? $"{info.Sender}|{info.ControlId}#{i}", document.Sha256), subject));
        }

        for (var r = 0; r < m.Reports.Count; r++)
            AddReport(bundle, m.Reports[r], $"{info.Sender}|{info.ControlId}|{messageKey}#{r}", subject, laboratoryCategory: false);
        for (var o = 0; o < m.Observations.Count; o++)
            Add(bundle, ObservationProjection.ToFhir(m.Observations[o], DeterministicId.From("Observation", info.Sender, info.ControlId, messageKey, FhirValues.Invariant(o)), subject));

        if (subject is not null)
        {
            for (var i = 0; i < m.Allergies.Count; i++)
                Add(bundle, AllergyProjection.ToFhir(m.Allergies[i], DeterministicId.From("AllergyIntolerance", owner, messageKey, FhirValues.Invariant(i)), subject));
            for (var i = 0; i < m.Problems.Count; i++)
                Add(bundle, ConditionProjection.ToFhir(m.Problems[i], DeterministicId.From("Condition", owner, messageKey, FhirValues.Invariant(i)), subject));
            for (var i = 0; i < m.Medications.Count; i++)
                Add(bundle, MedicationProjection.ToFhir(m.Medications[i], DeterministicId.From("Medication", owner, messageKey, FhirValues.Invariant(i)), subject));
            for (var i = 0; i < m.Immunizations.Count; i++)
                Add(bundle, ImmunizationProjection.ToFhir(m.Immunizations[i], DeterministicId.From("Immunization", owner, messageKey, FhirValues.Invariant(i)), subject));
            for (var i = 0; i < m.Procedures.Count; i++)
                Add(bundle, ProcedureProjection.ToFhir(m.Procedures[i], DeterministicId.From("Procedure", owner, messageKey, FhirValues.Invariant(i)), subject));
        }
        else if (m.Allergies.Count + m.Problems.Count + m.Medications.Count + m.Immunizations.Count + m.Procedures.Count > 0)
        {
            outcome.Issue.Add(NoteIssues.Issue(new MappingNote(NoteSeverity.Warning, "clinical entries without a patient (no PID) were not written")));
        }

        var header = MessageHeaderProjection.ToFhir(info, DeterministicId.From("MessageHeader", info.Sender, info.ControlId, messageKey), focus);
        bundle.Entry.Insert(headerAt, Entry(header));
        var targets = bundle.Entry.Skip(headerAt).Select(e => e.Resource).OfType<F.Resource>().Select(Ref).ToList();
        if (m.Provenance?.RecordedAt is { } recorded)
            Add(bundle, ProvenanceProjection.ToFhir(info, recorded, DeterministicId.From("Provenance", info.Sender, info.ControlId, messageKey), targets));
        else
            outcome.Issue.Add(NoteIssues.Issue(new MappingNote(NoteSeverity.Information, $"message {info.ControlId}: no Provenance written, MSH-7 (the time of the message) has no time")));
        foreach (var note in m.Notes)
            outcome.Issue.Add(NoteIssues.Issue(note));
    }

    /// <summary>
    /// A report with its results (and specimen) as DiagnosticReport + Observations; a report read from a document
    /// (CR-BIO) is also categorised as laboratory.
    /// </summary>
    private static void AddReport(F.Bundle bundle, DiagnosticReport report, string reportKey, F.ResourceReference? subject, bool laboratoryCategory)
    {
        var resource = DiagnosticReportProjection.ToFhir(report, DeterministicId.From("DiagnosticReport", reportKey), subject, laboratoryCategory);
        if (report.Specimen is { } specimen)
        {
            var sp = new F.Specimen { Id = DeterministicId.From("Specimen", reportKey), Type = FhirValues.Concept(specimen.Type), Subject = subject };
            if (specimen.Id is { } spId)
                sp.Identifier.Add(FhirValues.ToIdentifier(spId));
            if (FhirValues.ToDateTime(specimen.CollectedAt) is { } collected)
                sp.Collection = new F.Specimen.CollectionComponent { Collected = collected };
            Add(bundle, sp);
            resource.Specimen.Add(Ref(sp));
        }
        var results = new List<F.Observation>();
        for (var o = 0; o < report.Results.Count; o++)
            results.Add(ObservationProjection.ToFhir(report.Results[o], DeterministicId.From("Observation", reportKey, FhirValues.Invariant(o)), subject));
        resource.Result = results.Select(Ref).ToList();
        Add(bundle, resource);
        foreach (var observation in results)
            Add(bundle, observation);
    }

    /// <summary>
    /// One model record as its FHIR R4 resource, as the dossier stores it per entry or document: the same projection
    /// the Bundle uses, with <paramref name="subject"/> left null for the reader to set. A report gets no results or


    /// <summary>
    /// Writes a document's entries (a CDA body): encounters, reports with their results, observations, allergies,
    /// problems, medications, immunizations and procedures, each referencing <paramref name="subject"/>. Ids derive
    /// from <paramref name="key"/> (the document's identity) and the entry's position. Returns the encounters' references.
    /// </summary>
    public static IReadOnlyList<F.ResourceReference> AppendDocumentEntries(F.Bundle bundle, MappedMessage m, F.ResourceReference subject, string key)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(m);
        var encounters = new List<F.ResourceReference>();
        for (var i = 0; i < m.Encounters.Count; i++)
        {
            var e = m.Encounters[i];
            var resource = EncounterProjection.ToFhir(e, e.Id is { } eid ? DeterministicId.From("Encounter", eid.System, eid.Value) : DeterministicId.From("Encounter", key, FhirValues.Invariant(i)), subject);
            if (bundle.Entry.Exists(x => x.Resource?.Id == resource.Id))
                resource.Id = DeterministicId.From("Encounter", key, FhirValues.Invariant(i));
            Add(bundle, resource);
            encounters.Add(Ref(resource));
        }
        for (var r = 0; r < m.Reports.Count; r++)
            AddReport(bundle, m.Reports[r], key + "|report#" + FhirValues.Invariant(r), subject, laboratoryCategory: true);
        for (var o = 0; o < m.Observations.Count; o++)
            Add(bundle, ObservationProjection.ToFhir(m.Observations[o], DeterministicId.From("Observation", key, FhirValues.Invariant(o)), subject));
        for (var i = 0; i < m.Allergies.Count; i++)
            Add(bundle, AllergyProjection.ToFhir(m.Allergies[i], DeterministicId.From("AllergyIntolerance", key, FhirValues.Invariant(i)), subject));
        for (var i = 0; i < m.Problems.Count; i++)
            Add(bundle, ConditionProjection.ToFhir(m.Problems[i], DeterministicId.From("Condition", key, FhirValues.Invariant(i)), subject));
        for (var i = 0; i < m.Medications.Count; i++)
            Add(bundle, MedicationProjection.ToFhir(m.Medications[i], DeterministicId.From("Medication", key, FhirValues.Invariant(i)), subject));
        for (var i = 0; i < m.Immunizations.Count; i++)
            Add(bundle, ImmunizationProjection.ToFhir(m.Immunizations[i], DeterministicId.From("Immunization", key, FhirValues.Invariant(i)), subject));
        for (var i = 0; i < m.Procedures.Count; i++)
            Add(bundle, ProcedureProjection.ToFhir(m.Procedures[i], DeterministicId.From("Procedure", key, FhirValues.Invariant(i)), subject));
        return encounters;
    }

    private static string PatientId(Identifier? key, string? controlId, int index) =>
        DeterministicId.From("Patient", key?.System, key?.Value ?? $"{controlId}#{index}");

    private static string EncounterId(Encounter e, MessageInfo info, int index) =>
        e.Id is { } id ? DeterministicId.From("Encounter", id.System, id.Value) : DeterministicId.From("Encounter", info.Sender, info.ControlId, FhirValues.Invariant(index));

    private static F.ResourceReference Ref(F.Resource resource) => new("urn:uuid:" + resource.Id);

    private static void Add(F.Bundle bundle, F.Resource resource) => bundle.Entry.Add(Entry(resource));

    private static F.Bundle.EntryComponent Entry(F.Resource resource) => new() { FullUrl = "urn:uuid:" + resource.Id, Resource = resource };
}
