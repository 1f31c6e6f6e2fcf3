using Dmp.Mapping;
using Dmp.Mapping.Hl7v2;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Store;
using Dmp.Store.Inbox;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>
/// Takes `accepted` messages in arrival order (one lane per sender), parses and maps them, and
/// records the outcome of many messages in one transaction. A failed message never blocks its
/// sender. Work left `accepted` by a crash is simply taken again at start.
/// </summary>
public sealed class ProcessingWorker(StoreHolder holder, RuleSetHolder rules, ProcessingSignal signal, ProcessingCompletions completions, ILogger<ProcessingWorker> logger) : BackgroundService
{
    /// <summary>Message types with no business meaning for the dossier.</summary>
    private static readonly HashSet<string> NoDossierMeaning = new(StringComparer.Ordinal) { "ACK", "ZAM", "MCF", "QBP", "QRY", "RSP", "MFN", "MFK", "NMD", "NMQ", "NMR" };

    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>How long a small batch lets more work gather before the next claim.</summary>
    internal static readonly TimeSpan GatherDelay = TimeSpan.FromMilliseconds(50);
    private long _processed;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Hosted services start in order: the store holder before this worker.
        await Task.Yield();
        var store = holder.Store;
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
                var results = new List<ProcessingResult>(batch.Count);
                foreach (var message in batch)
                    results.Add(Process(message));
                await store.Processing.CompleteAsync(results, stoppingToken);
                completions.Complete(results);
                Interlocked.Add(ref _processed, results.Count);
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

    private ProcessingResult Process(PendingMessage message)
    {
        try
        {
            var parsed = Hl7Message.Parse(message.Raw);
            if (parsed.Message is { } hl7 && hl7.MessageType is { } type && NoDossierMeaning.Contains(type))
                return new ProcessingResult(message.Id, InboxStatus.Ignored, Detail: $"{type} has no business meaning for the dossier");

            var channel = message.Sender.Split('/', 2)[0];
            var result = InboundMapper.Map(message.Raw, channel, rules.Current);
            if (result.Error is { } error)
                return new ProcessingResult(message.Id, InboxStatus.Failed, Error: error.Format("message"), Detail: "mapping failed");
            var resources = result.Bundle!.Entry.Count;
            var documents = result.Bundle.Entry.Select(e => e.Resource).OfType<F.DocumentReference>().ToList();

            // A document its author has not validated yet waits for its validated version, outside the dossier.
            var drafts = documents.Where(d => d.DocStatus == F.CompositionStatus.Preliminary).ToList();
            if (drafts.Count > 0)
            {
                var uids = drafts.Select(d => d.MasterIdentifier?.Value ?? d.Id ?? "(no id)").ToList();
                var detail = uids.Count == 1
                    ? $"document {uids[0]} is not validated by its author: held until its validated version arrives"
                    : $"documents {string.Join(", ", uids)} are not validated by their author: held until their validated versions arrive";
                return new ProcessingResult(message.Id, InboxStatus.Held, Detail: detail,
                    HeldDocumentKeys: drafts.SelectMany(HeldKeys).Distinct(StringComparer.Ordinal).ToList());
            }

            var validated = documents.Where(d => d.DocStatus == F.CompositionStatus.Final)
                .SelectMany(ReleasedKeys).Distinct(StringComparer.Ordinal).ToList();
            var notes = result.Bundle.Entry.Select(e => e.Resource).OfType<F.OperationOutcome>()
                .SelectMany(o => o.Issue).Select(i => i.Diagnostics).Where(d => d is not null).Select(d => d!).ToList();
            var noRule = notes.Exists(n => n.StartsWith("no mapping rule", StringComparison.Ordinal));
            return new ProcessingResult(message.Id, InboxStatus.Processed, Warnings: noRule ? ["no-mapping-rule"] : null,
                Detail: $"mapped to {resources} resources" + (notes.Count > 0 ? "; " + string.Join("; ", notes) : ""),
                ValidatedDocumentKeys: validated.Count > 0 ? validated : null);
        }
        catch (Exception e)
        {
            // The exception's text may quote message content: its type at Error, the details at Debug only.
            logger.LogError("Mapping message {MessageId} threw {Exception}; marked failed", message.Id, e.GetType().Name);
            logger.LogDebug(e, "Mapping message {MessageId} threw", message.Id);
            return new ProcessingResult(message.Id, InboxStatus.Failed, Error: "internal error while mapping: " + e.GetType().Name, Detail: "mapping threw");
        }
    }

    /// <summary>The keys a draft is held under: its uniqueId and, when it has one, its setId.</summary>
    private static IEnumerable<string> HeldKeys(F.DocumentReference document)
    {
        if (document.MasterIdentifier is { Value: { Length: > 0 } uid } master)
            yield return DocumentKeys.UniqueId(master.System, uid);
        foreach (var id in document.Identifier)
            if (id.Use == F.Identifier.IdentifierUse.Secondary && id.Value is { Length: > 0 } set)
                yield return DocumentKeys.SetId(id.System, set);
    }

    /// <summary>The keys a validated document releases: its own setId and the documents it replaces.</summary>
    private static IEnumerable<string> ReleasedKeys(F.DocumentReference document)
    {
        foreach (var id in document.Identifier)
            if (id.Use == F.Identifier.IdentifierUse.Secondary && id.Value is { Length: > 0 } set)
                yield return DocumentKeys.SetId(id.System, set);
        foreach (var relation in document.RelatesTo)
            if (relation.Code == F.DocumentRelationshipType.Replaces && relation.Target?.Identifier is { Value: { Length: > 0 } parent } target)
                yield return DocumentKeys.UniqueId(target.System, parent);
    }
}
