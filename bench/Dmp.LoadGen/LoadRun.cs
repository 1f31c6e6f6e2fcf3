using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;

namespace Dmp.LoadGen;

/// <summary>
/// Sends the template over C MLLP connections, one message outstanding per connection, each with a fresh MSH-10,
/// and times each until its ACK. Open-loop pacing when a rate is given (each connection keeps its own schedule and
/// never sends early); otherwise each connection sends as soon as its previous ACK arrived.
/// </summary>
public static class LoadRun
{
    public static async Task<LoadReport> RunAsync(LoadOptions options, TextWriter progress, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(progress);
        var template = MllpTemplate.FromFile(options.File);
        var counters = new Counters();
        var accepted = options.Verify ? new ConcurrentQueue<string>() : null;
        // Control ids: a run prefix (random, so runs against the same data folder never collide), the connection, a sequence.
        var run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(options.Duration);
        var clock = Stopwatch.StartNew();
        var workers = new Task<List<double>>[options.Connections];
        for (var i = 0; i < options.Connections; i++)
        {
            var index = i;
            workers[i] = Task.Run(() => RunConnectionAsync(index, options, template, run, counters, accepted, clock, stop.Token), CancellationToken.None);
        }

        var all = Task.WhenAll(workers);
        var lastAcked = 0L;
        while (await Task.WhenAny(all, Task.Delay(1000, CancellationToken.None)) != all)
        {
            var acked = Interlocked.Read(ref counters.Acked);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{clock.Elapsed.TotalSeconds,5:F1} s] sent {Interlocked.Read(ref counters.Sent)} acked {acked} nacked {Interlocked.Read(ref counters.Nacked)} lost {Interlocked.Read(ref counters.Lost)} ({acked - lastAcked}/s)"));
            lastAcked = acked;
        }
        var latencies = (await all).SelectMany(l => l).ToArray();
        var elapsed = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);

        var report = new LoadReport
        {
            Sent = counters.Sent,
            Acked = counters.Acked,
            Nacked = counters.Nacked,
            Lost = counters.Lost,
            Mismatched = counters.Mismatched,
            ConnectFailures = counters.ConnectFailures,
            AckedPerSecond = Math.Round(counters.Acked / elapsed, 1),
            P50Ms = Math.Round(Percentile(latencies, 0.50), 3),
            P99Ms = Math.Round(Percentile(latencies, 0.99), 3),
            MaxMs = Math.Round(latencies.Length == 0 ? 0 : latencies[^1], 3),
            Connections = options.Connections,
            Seconds = Math.Round(elapsed, 2),
            Rate = options.Rate,
        };
        if (accepted is not null)
        {
            var (verified, missing) = await DeliveryVerifier.VerifyAsync(new Uri(options.Api!), options.Token!, accepted.ToArray(), progress, ct);
            report = report with { Verified = verified, Missing = missing };
        }
        return report;
    }

    private static async Task<List<double>> RunConnectionAsync(int index, LoadOptions options, MllpTemplate template, string run,
        Counters counters, ConcurrentQueue<string>? accepted, Stopwatch clock, CancellationToken stop)
    {
        var latencies = new List<double>();
        var frame = new byte[template.FrameLength(32)];
        Stream? stream = null;
        AckReader? reader = null;
        TcpClient? tcp = null;
        // Each connection's share of the rate, its first send offset so the connections interleave.
        var interval = options.Rate is { } rate ? options.Connections / rate : 0;
        var next = options.Rate is null ? 0 : index * interval / options.Connections;
        long sequence = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (interval > 0)
                {
                    var wait = next - clock.Elapsed.TotalSeconds;
                    if (wait >= 0.001)
                    {
                        try { await Task.Delay(TimeSpan.FromSeconds(wait), stop); }
                        catch (OperationCanceledException) { break; }
                    }
                    next += interval;
                }
                if (stream is null)
                {
                    try
                    {
                        (tcp, stream) = await ConnectAsync(options, stop);
                        reader = new AckReader(stream);
                    }
                    catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException)
                    {
                        if (stop.IsCancellationRequested)
                            break;
                        Interlocked.Increment(ref counters.ConnectFailures);
                        await Task.Delay(200, CancellationToken.None);
                        continue;
                    }
                }

                // A message is claimed only once a connection is there to send it on.
                if (options.Count is { } count && Interlocked.Increment(ref counters.Issued) > count)
                    break;
                var controlId = string.Create(CultureInfo.InvariantCulture, $"{run}-{index}-{sequence++}");
                var length = template.Write(frame, controlId);
                var started = Stopwatch.GetTimestamp();
                byte[]? ack;
                try
                {
                    await stream.WriteAsync(frame.AsMemory(0, length), CancellationToken.None);
                    Interlocked.Increment(ref counters.Sent);
                    // The deadline is the ACK timeout alone: the end of the run never cuts a wait short.
                    using var timeout = new CancellationTokenSource(options.AckTimeout);
                    ack = await reader!.ReadFrameAsync(timeout.Token);
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    ack = null;
                }
                var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (ack is null)
                {
                    // Sent (or half-sent) and never answered; a late ACK must not be taken for the next message's.
                    Interlocked.Increment(ref counters.Lost);
                    await DisposeAsync(stream, tcp);
                    stream = null;
                    continue;
                }
                latencies.Add(elapsedMs);
                switch (AckReader.Judge(ack, controlId))
                {
                    case AckOutcome.Accepted:
                        Interlocked.Increment(ref counters.Acked);
                        accepted?.Enqueue(controlId);
                        break;
                    case AckOutcome.Mismatched:
                        Interlocked.Increment(ref counters.Mismatched);
                        Interlocked.Increment(ref counters.Nacked);
                        break;
                    default:
                        Interlocked.Increment(ref counters.Nacked);
                        break;
                }
            }
        }
        finally
        {
            if (stream is not null)
                await DisposeAsync(stream, tcp);
        }
        return latencies;
    }

    private static async Task<(TcpClient, Stream)> ConnectAsync(LoadOptions options, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await tcp.ConnectAsync(options.Host, options.Port, timeout.Token);
            Stream stream = tcp.GetStream();
            if (options.Tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = options.Host,
                    // --tls-insecure: test certificates (self-signed, other name); never for a real peer.
                    RemoteCertificateValidationCallback = options.TlsInsecure ? (_, _, _, _) => true : null,
                }, timeout.Token);
                stream = ssl;
            }
            return (tcp, stream);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static async ValueTask DisposeAsync(Stream stream, TcpClient? tcp)
    {
        try { await stream.DisposeAsync(); }
        catch (IOException) { }
        tcp?.Dispose();
    }

    /// <summary>Nearest-rank percentile of sorted values (0 when there are none).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Length == 0)
            return 0;
        var rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private sealed class Counters
    {
        public long Issued;
        public long Sent;
        public long Acked;
        public long Nacked;
        public long Lost;
        public long Mismatched;
        public long ConnectFailures;
    }
}
