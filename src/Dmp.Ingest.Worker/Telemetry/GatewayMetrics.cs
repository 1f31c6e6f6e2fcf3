using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dmp.Ingest.Worker.Mllp;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Telemetry;

/// <summary>
/// The gateway's own instruments, on the meter `Dmp.Ingest` (created by the host's meter factory, so two gateways in one
/// process count apart). The Prometheus exporter turns the OpenTelemetry names into the documented ones:
/// `dmp.messages.received` → `dmp_messages_received_total`, `dmp.mllp.ack.duration` (unit s) → `dmp_mllp_ack_duration_seconds`.
/// Every label is bounded: channels and senders are configured names (or `unknown`), types come from the rules (or
/// `other`), codes and statuses are fixed lists.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Dmp.Ingest";

    /// <summary>The sender label of a message no configured sender was matched to.</summary>
    public const string UnknownSender = "unknown";

    /// <summary>ACK latency: from a quarter of a millisecond (a grouped commit on a fast disk) to 10 s.</summary>
    public static readonly IReadOnlyList<double> AckBuckets = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>ACKed → final status: mapping and applying, from a millisecond to a backlog of minutes.</summary>
    public static readonly IReadOnlyList<double> ProcessingBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    /// <summary>Most messages whose acceptance time is remembered for the processing histogram (a stopped worker must not grow memory).</summary>
    private const int MaxTimed = 100_000;

    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _acked;
    private readonly Counter<long> _processed;
    private readonly Counter<long> _tlsFailures;
    private readonly Counter<long> _dossierRequests;
    private readonly Counter<long> _deferrals;
    private readonly Histogram<double> _ackDuration;
    private readonly Histogram<double> _processingDuration;
    private readonly ConcurrentDictionary<long, long> _acceptedAt = new();
    // ConcurrentDictionary.Count takes every lock of the dictionary: read per ACK it was a tenth of the gateway's CPU
    // at 8 connections (perf). The bound is kept with this counter instead.
    private int _timed;
    private readonly MeterListener? _kestrel;

    public GatewayMetrics(IMeterFactory meters, IOptions<MetricsOptions> options, MessageTypeLabels types, MllpConnectionLimiter connections, CertificateExpiry certificates)
    {
        Enabled = options.Value.Enabled;
        Types = types;
        _meter = meters.Create(MeterName);
        _received = _meter.CreateCounter<long>("dmp.messages.received", description: "Inbound messages, good or bad, by channel, configured sender and MSH-9 type");
        _acked = _meter.CreateCounter<long>("dmp.messages.acked", description: "ACKs written back to MLLP senders, by MSA-1 code");
        _processed = _meter.CreateCounter<long>("dmp.messages.processed", description: "Messages that reached a final status (rejected at the door included)");
        _tlsFailures = _meter.CreateCounter<long>("dmp.tls.handshake.failures", description: "TLS handshakes that failed on the MLLP or HTTPS listener");
        _dossierRequests = _meter.CreateCounter<long>("dmp.dossier.requests", description: "Dossier requests by audited operation and outcome");
        _deferrals = _meter.CreateCounter<long>("dmp.processing.deferrals", description: "Times processing waited for a burst of arrivals to end (Dmp:Processing:DeferAbovePerSecond)");
        _ackDuration = _meter.CreateHistogram("dmp.mllp.ack.duration", "s", "MLLP frame fully read → its ACK written",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AckBuckets });
        _processingDuration = _meter.CreateHistogram("dmp.processing.duration", "s", "Message ACKed (committed to the inbox) → final status",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ProcessingBuckets });
        _meter.CreateObservableUpDownCounter("dmp.mllp.connections", () => connections.Open, description: "Open MLLP connections");
        _meter.CreateObservableGauge("dmp.certificate.expiry", certificates.SecondsLeft, "s", "Seconds until each configured certificate's NotAfter");
        if (Enabled)
            _kestrel = TlsHandshakeFailures.Listen(meters, () => _tlsFailures.Add(1));
    }

    /// <summary>`Dmp:Metrics:Enabled`: false skips the bookkeeping that is not a plain counter add.</summary>
    public bool Enabled { get; }

    public MessageTypeLabels Types { get; }

    public static string Sender(string? senderName) => senderName ?? UnknownSender;

    /// <summary>Processing started waiting for a burst of arrivals to end.</summary>
    public void Deferred() => _deferrals.Add(1);

    public void Received(string channel, string? senderName, string type) =>
        _received.Add(1, new("channel", channel), new("sender", Sender(senderName)), new("type", type));

    public void Acked(string channel, string? senderName, string code) =>
        _acked.Add(1, new("channel", channel), new("sender", Sender(senderName)), new("code", code));

    public void Processed(string? senderName, string status) =>
        _processed.Add(1, new("sender", Sender(senderName)), new KeyValuePair<string, object?>("status", status));

    public void DossierRequest(string operation, string outcome) =>
        _dossierRequests.Add(1, new("operation", operation), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>One ACK written, <paramref name="since"/> being <see cref="Stopwatch.GetTimestamp"/> when its frame was fully read.</summary>
    public void AckWritten(long since)
    {
        if (_ackDuration.Enabled)
            _ackDuration.Record(Stopwatch.GetElapsedTime(since).TotalSeconds);
    }

    /// <summary>A new message committed `accepted` (its ACK leaves now): the processing histogram times it from here.</summary>
    public void Accepted(long messageId)
    {
        if (_processingDuration.Enabled && Volatile.Read(ref _timed) < MaxTimed && _acceptedAt.TryAdd(messageId, Stopwatch.GetTimestamp()))
            Interlocked.Increment(ref _timed);
    }

    /// <summary>
    /// A message reached its final status. Only messages this process accepted are timed: a replay, or a backlog left by a
    /// stop, has no ACK time here.
    /// </summary>
    public void Finished(long messageId, string? senderName, string status)
    {
        Processed(senderName, status);
        if (_acceptedAt.TryRemove(messageId, out var since))
        {
            Interlocked.Decrement(ref _timed);
            _processingDuration.Record(Stopwatch.GetElapsedTime(since).TotalSeconds);
        }
    }

    /// <summary>The meter itself belongs to the host's meter factory (other parts of the gateway share it), which disposes it.</summary>
    public void Dispose() => _kestrel?.Dispose();
}
