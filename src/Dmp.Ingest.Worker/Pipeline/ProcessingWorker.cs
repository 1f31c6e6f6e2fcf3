using System.Security.Cryptography;
using Dmp.Mapping;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Hl7v2;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Model;
using Dmp.Store.Blobs;
using Dmp.Store.Dossier;
using Dmp.Store.Inbox;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>
/// Takes `accepted` messages in arrival order (one lane per sender), parses and maps them to the model,
/// writes document bodies to the blob store, and applies many messages to the dossier in one transaction
/// with their outcomes (no FHIR Bundle: only each clinical entry's own resource). A failed message never blocks its
/// sender. Work left `accepted` by a crash is simply taken again at start.
/// </summary>
public sealed class ProcessingWorker(StoreLifetime storeLifetime, RuleSetReloader rules, ProcessingSignal signal, ProcessingCompletions completions, ILogger<ProcessingWorker> logger) : BackgroundService
{
    /// <summary>Message types with no business meaning for the dossier.</summary>
    private static readonly HashSet<string> NoDossierMeaning = new(StringComparer.Ordinal) { "ACK", "ZAM", "MCF", "QBP", "QRY", "RSP", "MFN", "MFK", "NMD", "NMQ", "NMR" };

    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>How long a small batch lets more work gather before the next claim.</summary>
    internal static readonly TimeSpan GatherDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>Most messages whose outcomes (and dossier changes) share one commit.</summary>
    internal const int CompletionChunk = 32;
    private long _processed;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Hosted services start in order: the store lifetime before this worker.
        await Task.Yield();
        var store = storeLifetime.Store;
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<PendingMessage> batch;
            try
            {
                batch = await store.Processing.ClaimAsync(256, stoppingToken);
                if (batch.Count == 0)
                {
                    await signal.WaitAsync(TimeSpan.FromMilliseconds(500), stoppingToken);
                    continue;
                }
                // Applied to the dossier in the same transaction as the statuses; the final statuses (held,
                // refused, failed …) come back once committed, and only then may a Processed-mode ACK leave.
                // A few messages per commit: the inbox writer runs each completion inside a transaction that
                // arriving frames share, so a long one would hold their ACKs back.
                // Mapping runs ahead of the single writer: chunk N+1 is mapped on this thread while the writer
                // applies chunk N, one chunk in flight at most, so completions still reach the store in order.
                Task<IReadOnlyList<ProcessingResult>>? applying = null;
                foreach (var chunk in batch.Chunk(CompletionChunk))
                {
                    var results = new List<ProcessingResult>(chunk.Length);
                    foreach (var message in chunk)
                        results.Add(await ProcessAsync(message, store.Blobs, stoppingToken));
                    if (applying is not null)
                        Completed(await applying);
                    applying = store.Processing.CompleteAsync(results, stoppingToken);
                }
                if (applying is not null)
                    Completed(await applying);
                // A small batch under a steady stream: let work gather for a moment, so the outcomes of
                // many messages share one commit (one fsync) instead of taking one each from the ACK path.
                // Not when ACKs wait for processing (AckMode=Processed): there latency is the point.
                if (batch.Count < 64 && !completions.Enabled)
                    await Task.Delay(GatherDelay, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Broken storage: the claimed messages stay `accepted` and are taken again.
                logger.LogError(e, "Processing pass failed; retrying in 2 s");
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private void Completed(IReadOnlyList<ProcessingResult> final)
    {
        completions.Complete(final);
        Interlocked.Add(ref _processed, final.Count);
    }

    private async Task<ProcessingResult> ProcessAsync(PendingMessage message, IBlobStore blobs, CancellationToken cancellationToken)
    {
        try
        {
            // The type the listener read from MSH-9 when it stored the frame ("ADT^A01"): no second parse to skip a message.
            if (message.MessageType?.Split('^', 2)[0] is { } type && NoDossierMeaning.Contains(type))
                return new ProcessingResult(message.Id, InboxStatus.Ignored, Detail: $"{type} has no business meaning for the dossier");

            var channel = message.Sender.Split('/', 2)[0];
            var result = InboundMapper.MapModel(message.Raw, channel, rules.Current);
            if (result.Error is { } error)
                return new ProcessingResult(message.Id, InboxStatus.Failed, Error: error.Format("message"), Detail: "mapping failed");
            var documents = result.Messages.SelectMany(m => m.Message.Documents).ToList();

            // A document its author has not validated yet waits for its validated version, outside the dossier.
            var drafts = documents.Where(d => d.ValidatedByAuthor == false).ToList();
            if (drafts.Count > 0)
            {
                var uids = drafts.Select(d => d.UniqueId is { } uid ? MessageBundle.DocumentIdentifier(uid).Value : "(no id)").ToList();
                var detail = uids.Count == 1
                    ? $"document {uids[0]} is not validated by its author: held until its validated version arrives"
                    : $"documents {string.Join(", ", uids)} are not validated by their author: held until their validated versions arrive";
                return new ProcessingResult(message.Id, InboxStatus.Held, Detail: detail,
                    HeldDocumentKeys: drafts.SelectMany(HeldKeys).Distinct(StringComparer.Ordinal).ToList());
            }

            var validated = documents.Where(d => d.ValidatedByAuthor == true)
                .SelectMany(ReleasedKeys).Distinct(StringComparer.Ordinal).ToList();
            var notes = result.Messages.SelectMany(m => m.Message.Notes).Select(n => n.Text).ToList();
            var noRule = notes.Exists(n => n.StartsWith("no mapping rule", StringComparison.Ordinal));
            var bodies = new List<IReadOnlyList<DocumentBody?>>(result.Messages.Count);
            try
            {
                foreach (var mapped in result.Messages)
                    bodies.Add(await WriteBodiesAsync(mapped.Message, blobs, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Broken blob storage, not a bad message: failed (replayable) with the reason, never stuck in a claim.
                logger.LogError("Writing the document bodies of message {MessageId} failed: {Exception}", message.Id, e.GetType().Name);
                return new ProcessingResult(message.Id, InboxStatus.Failed,
                    Error: $"the document body could not be written to the blob store ({e.GetType().Name}); replay the message", Detail: "blob write failed");
            }

            var apply = new List<DossierApplyMessage>(result.Messages.Count);
            for (var i = 0; i < result.Messages.Count; i++)
                apply.Add(ToApply(result.Messages[i], bodies[i], message));
            var entries = apply.Sum(a => a.Entries.Count);
            return new ProcessingResult(message.Id, InboxStatus.Processed, Warnings: noRule ? ["no-mapping-rule"] : null,
                Detail: $"mapped {result.Messages.Count} message(s): {documents.Count} document(s), {entries} entries" + (notes.Count > 0 ? "; " + string.Join("; ", notes) : ""),
                ValidatedDocumentKeys: validated.Count > 0 ? validated : null,
                Apply: new DossierApplyInput(apply));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The exception's text may quote message content: its type at Error, the details at Debug only.
            logger.LogError("Mapping message {MessageId} threw {Exception}; marked failed", message.Id, e.GetType().Name);
            logger.LogDebug(e, "Mapping message {MessageId} threw", message.Id);
            return new ProcessingResult(message.Id, InboxStatus.Failed, Error: "internal error while mapping: " + e.GetType().Name, Detail: "mapping threw");
        }
    }

    /// <summary>
    /// Each document's content (the CDA: decoded from its OBX, or the file itself) written to the blob store before the
    /// commit — content-addressed and write-once, so a body left by a failed commit is harmless.
    /// </summary>
    private static async Task<IReadOnlyList<DocumentBody?>> WriteBodiesAsync(MappedMessage m, IBlobStore blobs, CancellationToken cancellationToken)
    {
        var bodies = new DocumentBody?[m.Documents.Count];
        for (var i = 0; i < bodies.Length; i++)
        {
            var document = m.Documents[i];
            if (document.Content is not { Length: > 0 } content)
                continue;
            var key = await blobs.PutAsync(content, cancellationToken).ConfigureAwait(false);
            bodies[i] = new DocumentBody(key, Convert.ToHexStringLower(SHA256.HashData(content.Span)), Convert.ToBase64String(SHA1.HashData(content.Span)),
                content.Length, document.MimeType ?? "text/xml");
        }
        return bodies;
    }

    /// <summary>
    /// What the store applies for one mapped message: its documents with their stored bodies, and each clinical
    /// entry's natural key with its FHIR R4 JSON (no subject: the API sets it when it serves the entry).
    /// </summary>
    private static DossierApplyMessage ToApply(ModelMessage mapped, IReadOnlyList<DocumentBody?> bodies, PendingMessage message)
    {
        var m = mapped.Message;
        var eventAt = mapped.EventAt ?? m.Provenance?.RecordedAt ?? message.ReceivedAt;
        var documents = m.Documents.Select((document, i) => new DossierApplyDocument(document, bodies[i])).ToList();

        var entries = new List<DossierApplyEntry>();
        // Adds the entry and returns its resource id.
        string Add(object record, Provenance provenance, Func<string, F.Resource>? project = null)
        {
            var key = EntryFingerprint.Of(record, MessageBundle.CodeSystemUri);
            var id = EntryResourceId(key);
            var resource = project?.Invoke(id) ?? MessageBundle.ToResource(record, id);
            entries.Add(new DossierApplyEntry(key with { Kind = resource.TypeName }, FhirJson.Serialize(resource, pretty: false), DocumentIndex(m, provenance), eventAt));
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
                var resource = MessageBundle.ToFhir(report, id, null, laboratoryCategory: report.Provenance.DocumentId is not null);
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
        return new DossierApplyMessage(m, eventAt, documents, entries);
    }

    /// <summary>An entry's resource id: derived from its natural key, so the same entry has the same id from every source.</summary>
    private static string EntryResourceId(EntryKey key) => DeterministicId.From(key.Kind, key.Fingerprint);

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
    private static IEnumerable<string> HeldKeys(Document document)
    {
        if (document.UniqueId is { Value.Length: > 0 } uid)
            yield return UidKey(uid);
        if (document.SetId is { Value.Length: > 0 } set)
            yield return SetKey(set);
    }

    /// <summary>The keys a validated document releases: its own setId and the documents it replaces.</summary>
    private static IEnumerable<string> ReleasedKeys(Document document)
    {
        if (document.SetId is { Value.Length: > 0 } set)
            yield return SetKey(set);
        foreach (var parent in document.Replaces)
            if (parent.Value.Length > 0)
                yield return UidKey(parent);
    }

    private static string UidKey(Identifier id)
    {
        var fhir = MessageBundle.DocumentIdentifier(id);
        return DocumentKeys.UniqueId(fhir.System, fhir.Value ?? id.Value);
    }

    private static string SetKey(Identifier id)
    {
        var fhir = MessageBundle.DocumentIdentifier(id);
        return DocumentKeys.SetId(fhir.System, fhir.Value ?? id.Value);
    }
}
