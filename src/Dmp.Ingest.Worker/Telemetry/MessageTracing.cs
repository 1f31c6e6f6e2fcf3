using System.Diagnostics;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.Telemetry;

/// <summary>
/// One W3C trace per inbound message (issue 17): `receive` is its root, with `inbox commit` and `ack` under it when a
/// channel answers; the processing worker continues the same trace later from the stored traceparent (`process`, with
/// `parse` and `map` from the mapping and `apply` for the dossier commit). Spans carry ids, channel, status and codes,
/// never message content. A running gateway keeps the spans' ids even with no exporter (<see cref="MessageTraceIds"/>:
/// spans made but not recorded), so the log lines of a message carry the trace id <c>/api/messages</c> shows; with
/// nobody listening at all (a store tool, a test without a gateway) no span exists and a trace id is drawn for the row.
/// </summary>
public static class MessageTracing
{
    /// <summary>The ActivitySource name (the OpenTelemetry setup subscribes to it).</summary>
    public const string SourceName = "Dmp.Ingest";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>True when some listener (a running gateway's <see cref="MessageTraceIds"/>, an exporter, a test) takes this source's spans.</summary>
    public static bool Listening => Source.HasListeners();

    /// <summary>
    /// Starts the receive span of one inbound message as the root of a new trace, and makes it current: call it from
    /// the async method that receives the message, so it stays current there only. With nobody listening, the trace id
    /// is drawn at random (the message still gets one) and no span exists.
    /// </summary>
    public static MessageTrace StartReceive(string channel)
    {
        if (Source.HasListeners())
        {
            // One trace per message, whatever the channel runs under (a poll job, a connection).
            Activity.Current = null;
            if (Source.StartActivity("receive", ActivityKind.Server) is { } activity)
            {
                activity.SetTag("dmp.channel", channel);
                return new MessageTrace(activity, activity.TraceId.ToHexString(), activity.Id);
            }
        }

        return new MessageTrace(null, ActivityTraceId.CreateRandom().ToHexString(), null);
    }

    /// <summary>The inbox commit span, under the current receive span; null when nobody listens.</summary>
    public static Activity? StartCommit() => Activity.Current is null ? null : Source.StartActivity("inbox commit");

    /// <summary>
    /// The ACK span of a message whose receive span was recorded (<paramref name="parent"/>); does not change the current
    /// activity. Stop it once the ACK is written.
    /// </summary>
    public static Activity? StartAck(ActivityContext parent, string? ackCode)
    {
        if (parent == default || !Source.HasListeners())
            return null;
        var current = Activity.Current;
        var activity = Source.StartActivity("ack", ActivityKind.Internal, parent);
        Activity.Current = current;
        activity?.SetTag("dmp.ack_code", ackCode);
        return activity;
    }

    /// <summary>
    /// The processing span of a claimed message, continuing its trace: under the stored receive span when there is one,
    /// else at the root of the stored trace id. Current from here on in the calling async method (the mapping's `parse`
    /// and `map` spans go under it). Null when nobody listens or the message predates trace ids.
    /// </summary>
    public static Activity? StartProcess(PendingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!Source.HasListeners() || Parent(message.TraceParent, message.TraceId) is not { } parent)
            return null;
        var activity = Source.StartActivity("process", ActivityKind.Consumer, parent);
        activity?.SetTag("dmp.message_id", message.Id);
        return activity;
    }

    /// <summary>The apply span of a processed message (its share of the dossier commit); does not change the current activity.</summary>
    public static Activity? StartApply(Activity? process)
    {
        if (process is null)
            return null;
        var current = Activity.Current;
        var activity = Source.StartActivity("apply", ActivityKind.Internal, process.Context);
        Activity.Current = current;
        return activity;
    }

    /// <summary>
    /// The context a stored message's later spans continue: its receive span's traceparent, else its trace id alone
    /// (no parent span: the processing span is a root in that trace). Null when neither is stored or readable.
    /// </summary>
    public static ActivityContext? Parent(string? traceParent, string? traceId)
    {
        if (traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context))
            return context;
        if (traceId is { Length: 32 } && IsLowerHex(traceId))
            return new ActivityContext(ActivityTraceId.CreateFromString(traceId), default, ActivityTraceFlags.Recorded, isRemote: true);
        return null;
    }

    /// <summary>True for a trace id as stored: 32 lower-case hex digits, not all zero.</summary>
    public static bool IsTraceId(string? value) => value is { Length: 32 } && IsLowerHex(value) && value.AsSpan().ContainsAnyExcept('0');

    private static bool IsLowerHex(string value)
    {
        foreach (var c in value)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
                return false;
        }
        return true;
    }
}

/// <summary>The trace of one inbound message as it is received: its id (always), and its receive span when recorded.</summary>
public readonly struct MessageTrace(Activity? receive, string traceId, string? traceParent) : IDisposable
{
    /// <summary>The receive span; null when nobody listens.</summary>
    public Activity? Receive { get; } = receive;

    /// <summary>The W3C trace id, 32 lower-case hex.</summary>
    public string TraceId { get; } = traceId;

    /// <summary>The receive span as a W3C traceparent; null when there is no span.</summary>
    public string? TraceParent { get; } = traceParent;

    /// <summary>The receive span's context (default when there is none): the parent of the ACK span.</summary>
    public ActivityContext Context => Receive?.Context ?? default;

    /// <summary>Tags the receive span with what became of the message (ids and codes only).</summary>
    public void Stored(InboxReceipt receipt)
    {
        if (Receive is not { } activity)
            return;
        ArgumentNullException.ThrowIfNull(receipt);
        activity.SetTag("dmp.message_id", receipt.Id);
        activity.SetTag("dmp.status", receipt.Status);
        if (receipt.Duplicate)
            activity.SetTag("dmp.duplicate", true);
    }

    public void Dispose() => Receive?.Dispose();
}

/// <summary>
/// Makes the message spans exist while the gateway runs, exporter or not: they are created with their ids and made
/// current (so log lines carry the trace id, and the processing worker continues the stored trace) but not recorded
/// unless an exporter samples them. Costs a few small objects per message.
/// </summary>
public sealed class MessageTraceIds : IHostedService, IDisposable
{
    private ActivityListener? _listener;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MessageTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(_listener);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener?.Dispose();
}

/// <summary>Links an HTTP read of a document to the traces of the inbound messages that brought it.</summary>
public static class DocumentTraceLinks
{
    /// <summary>
    /// When the current request's span is recorded, adds a link to each stored trace of the document's source messages
    /// (one query); otherwise does nothing and costs nothing.
    /// </summary>
    public static async Task LinkAsync(Dmp.Store.DmpStore store, long documentId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (Activity.Current is not { Recorded: true } request)
            return;
        foreach (var source in await store.Queries.TracesOfDocumentAsync(documentId, cancellationToken))
        {
            if (MessageTracing.Parent(source.TraceParent, source.TraceId) is { } context)
                request.AddLink(new ActivityLink(context, new ActivityTagsCollection { ["dmp.message_id"] = source.MessageId }));
        }
    }
}
