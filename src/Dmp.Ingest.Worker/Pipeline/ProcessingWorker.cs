using System.Diagnostics;
using System.Security.Cryptography;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Telemetry;
using Dmp.Mapping;
using Dmp.Mapping.Apply;
using Dmp.Model.Apply;
using Dmp.Store.Blobs;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>
/// Takes `accepted` messages in arrival order (one lane per sender), maps each to the model and plans what it
/// brings to the dossier (<see cref="ApplyPlanner"/>), writes document bodies to the blob store, and hands many plans
/// to the store, applied in one transaction with their outcomes. A failed message never blocks its
/// sender. Work left `accepted` by a crash is simply taken again at start.
/// </summary>
public sealed class ProcessingWorker(StoreLifetime storeLifetime, RuleSetReloader rules, ProcessingSignal signal, ProcessingCompletions completions, ILogger<ProcessingWorker> logger,
    GatewayMetrics metrics, IOptions<ProcessingOptions> options) : BackgroundService
{
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>How long a small batch lets more work gather before the next claim.</summary>
    internal static readonly TimeSpan GatherDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>Most messages whose outcomes (and dossier changes) share one commit.</summary>
    internal const int CompletionChunk = 8;

    /// <summary>How often a deferring worker looks at the intake's rate again.</summary>
    private static readonly TimeSpan DeferPoll = TimeSpan.FromMilliseconds(20);
    private long _processed;
    private long _deferrals;
    private volatile bool _waiting;

    /// <summary>How many times processing started waiting for a burst of arrivals to end (see <see cref="IntakePressure"/>).</summary>
    public long Deferrals => Interlocked.Read(ref _deferrals);

    /// <summary>True while processing waits for a burst of arrivals to end (the console's dashboard says so).</summary>
    public bool WaitingForBurst => _waiting;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Hosted services start in order: the store lifetime before this worker.
        await Task.Yield();
        var store = storeLifetime.Store;
        // With ACKs at commit, a burst's senders come first; with AckMode=Processed their ACKs wait for processing.
        var pressure = completions.Enabled
            ? null
            : new IntakePressure(options.Value.DeferAbovePerSecond, TimeSpan.FromSeconds(options.Value.MaxDeferSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<PendingMessage> batch;
            try
            {
                if (pressure is not null && pressure.ShouldDefer(signal.Arrivals, Stopwatch.GetElapsedTime(0)))
                {
                    if (!_waiting)
                    {
                        _waiting = true;
                        Interlocked.Increment(ref _deferrals);
                        metrics.Deferred();
                        logger.LogDebug("Arrivals at {Rate:F0}/s: processing waits for the burst to end", pressure.Rate);
                    }
                    await Task.Delay(DeferPoll, stoppingToken);
                    continue;
                }
                if (_waiting && pressure!.CatchingUp)
                    logger.LogInformation("Arrivals stayed above {Threshold}/s for {Seconds} s (Dmp:Processing:MaxDeferSeconds): processing works through the backlog now",
                        options.Value.DeferAbovePerSecond, options.Value.MaxDeferSeconds);
                _waiting = false;
                batch = await store.Processing.ClaimAsync(256, stoppingToken);
                if (batch.Count == 0)
                {
                    pressure?.CaughtUp();
                    await signal.WaitAsync(TimeSpan.FromMilliseconds(500), stoppingToken);
                    continue;
                }
                // Applied to the dossier in the same transaction as the statuses; the final statuses (held,
                // refused, failed …) come back once committed, and only then may a Processed-mode ACK leave.
                // A few messages per commit: on SQLite the inbox writer runs each chunk in a transaction of its own
                // between two commits of arriving frames, so an ACK can wait for one chunk (at one connection, p99 5.3 ms with 8 against 8.0 with 32).
                // Mapping runs ahead of the single writer: chunk N+1 is mapped on this thread while the writer
                // applies chunk N, one chunk in flight at most, so completions still reach the store in order.
                Task<IReadOnlyList<ProcessingResult>>? applying = null;
                PendingMessage[] applied = [];
                foreach (var chunk in batch.Chunk(CompletionChunk))
                {
                    var results = new List<ProcessingResult>(chunk.Length);
                    // Each message's `process` span (its trace continued), when someone records traces.
                    var spans = MessageTracing.Listening ? new Activity?[chunk.Length] : null;
                    for (var i = 0; i < chunk.Length; i++)
                        results.Add(await ProcessAsync(chunk[i], store.Blobs, spans, i, stoppingToken));
                    if (applying is not null)
                        Completed(await applying, applied);
                    applying = spans is null ? store.Processing.CompleteAsync(results, stoppingToken) : CompleteTracedAsync(results, spans, stoppingToken);
                    applied = chunk;
                }
                if (applying is not null)
                    Completed(await applying, applied);
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

    private void Completed(IReadOnlyList<ProcessingResult> final, PendingMessage[] chunk)
    {
        completions.Complete(final);
        Interlocked.Add(ref _processed, final.Count);
        foreach (var result in final)
            metrics.Finished(result.Id, Array.Find(chunk, m => m.Id == result.Id)?.SenderName, result.Status);
    }

    /// <summary>The chunk's commit with an `apply` span per message under its `process` span; both end once it is committed.</summary>
    private async Task<IReadOnlyList<ProcessingResult>> CompleteTracedAsync(List<ProcessingResult> results, Activity?[] spans, CancellationToken cancellationToken)
    {
        var applies = new Activity?[spans.Length];
        for (var i = 0; i < spans.Length; i++)
            applies[i] = MessageTracing.StartApply(spans[i]);
        try
        {
            var final = await storeLifetime.Store.Processing.CompleteAsync(results, cancellationToken);
            for (var i = 0; i < spans.Length && i < final.Count; i++)
                spans[i]?.SetTag("dmp.status", final[i].Status);
            return final;
        }
        catch (Exception e)
        {
            foreach (var apply in applies)
                apply?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
            throw;
        }
        finally
        {
            for (var i = 0; i < spans.Length; i++)
            {
                applies[i]?.Dispose();
                spans[i]?.Dispose();
            }
        }
    }

    private async Task<ProcessingResult> ProcessAsync(PendingMessage message, IBlobStore blobs, Activity?[]? spans, int index, CancellationToken cancellationToken)
    {
        // Current in this method only: the mapping's parse and map spans go under it.
        if (spans is not null)
            spans[index] = MessageTracing.StartProcess(message);
        try
        {
            // The type the listener read from MSH-9 when it stored the frame ("ADT^A01"): no second parse to skip a message.
            if (ApplyPlanner.IgnoredType(message.MessageType) is { } ignored)
                return new ProcessingResult(message.Id, InboxStatus.Ignored, Detail: ignored);

            var channel = message.Sender.Split('/', 2)[0];
            var result = InboundMapper.MapModel(message.Raw, channel, rules.Current);
            if (result.Error is { } error)
            {
                return new ProcessingResult(message.Id, InboxStatus.Failed, Error: error.Format("message"), Detail: "mapping failed")
                {
                    NamedPatients = Operator.NamedPatients.Read(message.Raw),
                };
            }

            // The identifiers the message named, for the operators' search, whatever the outcome below.
            var named = Operator.NamedPatients.Of(result.Messages);
            var plan = ApplyPlanner.Plan(result.Messages, message.ReceivedAt);
            if (plan.Apply is not { } apply)
                return new ProcessingResult(message.Id, InboxStatus.Held, Detail: plan.Detail, HeldDocumentKeys: plan.HeldDocumentKeys) { NamedPatients = named };

            IReadOnlyList<DocumentBody?> bodies;
            try
            {
                bodies = await WriteBodiesAsync(apply, blobs, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Broken blob storage, not a bad message: failed (replayable) with the reason, never stuck in a claim.
                logger.LogError("Writing the document bodies of message {MessageId} failed: {Exception}", message.Id, e.GetType().Name);
                return new ProcessingResult(message.Id, InboxStatus.Failed,
                    Error: $"the document body could not be written to the blob store ({e.GetType().Name}); replay the message", Detail: "blob write failed")
                {
                    NamedPatients = named,
                };
            }

            return new ProcessingResult(message.Id, InboxStatus.Processed, Warnings: plan.Warnings.Count > 0 ? plan.Warnings : null, Detail: plan.Detail,
                ValidatedDocumentKeys: plan.ValidatedDocumentKeys.Count > 0 ? plan.ValidatedDocumentKeys : null,
                Apply: apply.WithBodies(bodies)) { NamedPatients = named };
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
    private static async Task<IReadOnlyList<DocumentBody?>> WriteBodiesAsync(ApplyPlan plan, IBlobStore blobs, CancellationToken cancellationToken)
    {
        var bodies = new List<DocumentBody?>();
        foreach (var document in plan.Documents.Select(d => d.Document))
        {
            if (document.Content is not { Length: > 0 } content)
            {
                bodies.Add(null);
                continue;
            }
            var key = await blobs.PutAsync(content, cancellationToken).ConfigureAwait(false);
            bodies.Add(new DocumentBody(key, Convert.ToHexStringLower(SHA256.HashData(content.Span)), Convert.ToBase64String(SHA1.HashData(content.Span)),
                content.Length, document.MimeType ?? "text/xml"));
        }
        return bodies;
    }
}
