using Dmp.Mapping.Fhir;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Model;
using Dmp.Model.Apply;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Apply;

/// <summary>
/// Builds the plan the store applies from a mapped inbound message, without I/O: which message types mean nothing
/// to the dossier, drafts held until their validated version, the documents, each clinical entry with its natural
/// key and FHIR R4 JSON (no subject: the API sets it when it serves the entry), and each message's admission.
/// </summary>
public static class ApplyPlanner
{
    /// <summary>Why a message of this stored type (<c>ADT^A01</c>) is ignored without mapping, or null to map it.</summary>
    public static string? IgnoredType(string? messageType) =>
        MessageTypes.Code(messageType) is { } type && MessageTypes.NoDossierMeaning.Contains(type)
            ? $"{type} has no business meaning for the dossier"
            : null;

    /// <summary>The plan of one mapped inbound message; <paramref name="receivedAt"/> dates what gives no event time.</summary>
    public static IngestPlan Plan(IReadOnlyList<ModelMessage> messages, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var documents = messages.SelectMany(m => m.Message.Documents).ToList();

        // A document its author has not validated yet waits for its validated version, outside the dossier.
        var drafts = documents.Where(d => d.ValidatedByAuthor == false).ToList();
        if (drafts.Count > 0)
        {
            var uids = drafts.Select(d => d.UniqueId is { } uid ? Key(uid).FhirValue : "(no id)").ToList();
            var detail = uids.Count == 1
                ? $"document {uids[0]} is not validated by its author: held until its validated version arrives"
                : $"documents {string.Join(", ", uids)} are not validated by their author: held until their validated versions arrive";
            return new IngestPlan(null, drafts.SelectMany(HeldKeys).Distinct().ToList(), [], detail, []);
        }

        var validated = documents.Where(d => d.ValidatedByAuthor == true).SelectMany(ReleasedKeys).Distinct().ToList();
        var notes = messages.SelectMany(m => m.Message.Notes).Select(n => n.Text).ToList();
        var noRule = messages.SelectMany(m => m.Message.Notes).Any(n => n.Code == MappingNoteCode.NoMappingRule);
        var plans = messages.Select(m => PlanMessage(m, receivedAt)).ToList();
        var entries = plans.Sum(p => p.Entries.Count);
        return new IngestPlan(new ApplyPlan(plans), [], validated,
            $"mapped {messages.Count} message(s): {documents.Count} document(s), {entries} entries" + (notes.Count > 0 ? "; " + string.Join("; ", notes) : ""),
            noRule ? ["no-mapping-rule"] : []);
    }

    /// <summary>One mapped message's documents (bodies not written yet), entries and admission.</summary>
    public static MessagePlan PlanMessage(ModelMessage mapped, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(mapped);
        var m = mapped.Message;
        var eventAt = mapped.EventAt ?? m.Provenance?.RecordedAt ?? receivedAt;
        var documents = m.Documents.Select(d => new DocumentPlan(d)).ToList();
        return MessagePlan.Of(m, eventAt, documents, Entries(m, eventAt));
    }

    /// <summary>A document identifier's keys: the dossier's form and the FHIR form held drafts are keyed by.</summary>
    public static DocumentKey Key(Identifier id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var fhir = DocumentReferenceProjection.MasterIdentifier(id);
        return new DocumentKey(DocumentKey.DossierForm(id), fhir.System, fhir.Value ?? id.Value);
    }

    private static List<EntryPlan> Entries(MappedMessage m, DateTimeOffset eventAt)
    {
        var entries = new List<EntryPlan>();
        // Adds the entry and returns its resource id.
        string Add(object record, Provenance provenance, Func<string, F.Resource>? project = null)
        {
            var key = EntryFingerprint.Of(record);
            var id = DeterministicId.From(key.Kind, key.Fingerprint);
            var resource = project?.Invoke(id) ?? ResourceProjection.ToResource(record, id);
            entries.Add(new EntryPlan(key with { Kind = resource.TypeName }, FhirJson.Serialize(resource, pretty: false), DocumentIndex(m, provenance), eventAt));
            return id;
        }

        foreach (var encounter in m.Encounters)
            Add(encounter, encounter.Provenance);
        foreach (var report in m.Reports)
        {
            // Results are entries of their own; the report points at them by the ids their entries' resources carry.
            var results = new List<F.ResourceReference>(report.Results.Count);
            foreach (var observation in report.Results)
                results.Add(new F.ResourceReference("Observation/" + Add(observation, observation.Provenance)));
            Add(report, report.Provenance, id =>
            {
                var resource = DiagnosticReportProjection.ToFhir(report, id, null, laboratoryCategory: report.Provenance.DocumentId is not null);
                resource.Result = results;
                return resource;
            });
        }
        foreach (var observation in m.Observations)
            Add(observation, observation.Provenance);
        foreach (var allergy in m.Allergies)
            Add(allergy, allergy.Provenance);
        foreach (var problem in m.Problems)
            Add(problem, problem.Provenance);
        foreach (var medication in m.Medications)
            Add(medication, medication.Provenance);
        foreach (var immunization in m.Immunizations)
            Add(immunization, immunization.Provenance);
        foreach (var procedure in m.Procedures)
            Add(procedure, procedure.Provenance);
        return entries;
    }

    /// <summary>The document an entry was read from: the one whose id its provenance names (a CDA body), else none.</summary>
    private static int? DocumentIndex(MappedMessage m, Provenance provenance)
    {
        if (provenance.DocumentId is not { } id)
            return null;
        for (var i = 0; i < m.Documents.Count; i++)
            if (m.Documents[i].UniqueId?.Value == id)
                return i;
        return m.Documents.Count == 1 ? 0 : null;
    }

    /// <summary>The keys a draft is held under: its uniqueId and, when it has one, its setId.</summary>
    private static IEnumerable<HeldKey> HeldKeys(Document document)
    {
        if (document.UniqueId is { Value.Length: > 0 } uid)
            yield return Key(uid).AsUniqueId;
        if (document.SetId is { Value.Length: > 0 } set)
            yield return Key(set).AsSetId;
    }

    /// <summary>The keys a validated document releases: its own setId and the documents it replaces.</summary>
    private static IEnumerable<HeldKey> ReleasedKeys(Document document)
    {
        if (document.SetId is { Value.Length: > 0 } set)
            yield return Key(set).AsSetId;
        foreach (var parent in document.Replaces)
            if (parent.Value.Length > 0)
                yield return Key(parent).AsUniqueId;
    }
}
