using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Store;
using Dmp.Store.Inbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Bench.Store;

/// <summary>
/// `process --data DIR [--messages N] [--patients P] [--receive M] [--postgres CONNECTION]`: map + store throughput of the
/// real processing worker, on SQLite in DIR or on the PostgreSQL database CONNECTION names (an empty one: the bench
/// counts every message of the store; DIR then holds the blobs).
/// 1. backlog: N ORU messages (<see cref="OruVariants"/>, patients 1…P) are appended to the inbox through the inbox
///    writer with no worker running; then the gateway starts and the time until its worker has processed all N is taken.
/// 2. end to end: M more go through the gateway's receive path (InboundReceiver: parse, ACK decision, grouped inbox
///    commit — MLLP without the socket), 256 in flight, while the worker processes; timed until all are processed.
/// Last line JSON, with the final status of every message.
/// </summary>
public static class ProcessCommand
{
    private const int InFlight = 256;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var options = BenchArgs.Parse(args, stderr, "process --data DIR [--messages N (20000)] [--patients P (10000)] [--receive M (20000)] [--template both|crbio|lab] [--corpus DIR] [--postgres CONNECTION]",
            "--data", "--messages", "--patients", "--receive", "--template", "--corpus", "--postgres");
        if (options is null || !options.TryGetValue("--data", out var dataDir))
            return BenchArgs.Usage;
        var messages = BenchArgs.Int(options, "--messages", 20_000);
        var patients = Math.Max(1, BenchArgs.Int(options, "--patients", 10_000));
        var receive = BenchArgs.Int(options, "--receive", 20_000);
        var variants = new OruVariants(options.GetValueOrDefault("--template", "both"), options.GetValueOrDefault("--corpus"));
        var run = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)) + "-";
        // Patients spread over 1 … P by a multiplicative hash of n (deterministic, and safe from many threads).
        byte[] Next(long n) => variants.Message(n, run, SeedStore.Ins((long)((ulong)n * 2654435761UL % (ulong)patients) + 1));

        // 1. The backlog, written with no worker running.
        var appendClock = Stopwatch.StartNew();
        var postgres = options.GetValueOrDefault("--postgres");
        var storeOptions = postgres is null ? new StoreOptions() : new StoreOptions { Provider = StoreProvider.Postgres, ConnectionString = postgres };
        await using (var store = await DmpStore.OpenAsync(storeOptions, new BlobOptions(), dataDir, CancellationToken.None))
        {
            var ack = "MSH|^~\\&|DMP|GW|||20260101||ACK|1|P|2.5\rMSA|AA|1\r"u8.ToArray();
            await ForAllAsync(messages, n =>
            {
                var bytes = Next(n);
                var frame = new InboundFrame("mllp", "mllp/BENCH|LAB", "BENCH-" + run + n.ToString(CultureInfo.InvariantCulture), "ORU^R01",
                    null, null, bytes, bytes.Length, SHA256.HashData(bytes), false, DateTimeOffset.UtcNow);
                return store.Writer.AppendAsync(frame, _ => new InboxDecision(InboxStatus.Accepted, null, [], ack, "AA"), CancellationToken.None);
            });
        }

        var appendSeconds = appendClock.Elapsed.TotalSeconds;
        stderr.WriteLine($"process: {messages} messages in the inbox in {appendSeconds:0.0} s; starting the gateway");

        await using var app = GatewayHost.Build(new Dictionary<string, string?>
        {
            ["Dmp:DataDir"] = dataDir,
            ["Dmp:Http:Port"] = "0",
            ["Dmp:Mllp:Enabled"] = "false",
            ["Dmp:Auth:SigningKey"] = "dmp-ingest-bench-signing-key-0123456789-abcdef",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Dmp:Store:Provider"] = storeOptions.Provider.ToString(),
            ["Dmp:Store:ConnectionString"] = postgres,
        });
        var worker = app.Services.GetRequiredService<ProcessingWorker>();
        var backlogClock = Stopwatch.StartNew();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        await app.StartAsync();
        var backlogSeconds = await UntilProcessedAsync(worker, messages, backlogClock, stderr);
        // CPU seconds the whole process used while the worker drained the backlog: ~1 per second is one core busy.
        var backlogCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;

        // 2. End to end through the receive path, the worker processing as messages arrive.
        var receiver = app.Services.GetRequiredService<InboundReceiver>();
        var e2eClock = Stopwatch.StartNew();
        var before = worker.Processed;
        await ForAllAsync(receive, n => receiver.ReceiveAsync(new ReceivedInput("mllp", Next(messages + n), "127.0.0.1:1"), CancellationToken.None));
        var receivedSeconds = e2eClock.Elapsed.TotalSeconds;
        var e2eSeconds = await UntilProcessedAsync(worker, before + receive, e2eClock, stderr);

        var statuses = await StatusesAsync(app.Services.GetRequiredService<DmpStore>(), run);
        await app.StopAsync();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"backlog":{{messages}},"backlog_append_per_s":{{messages / appendSeconds:0.#}},"backlog_processed_per_s":{{messages / backlogSeconds:0.#}},"backlog_seconds":{{backlogSeconds:0.##}},"backlog_cpu_s":{{backlogCpu:0.##}},"received":{{receive}},"received_per_s":{{receive / Math.Max(receivedSeconds, 1e-9):0.#}},"e2e_processed_per_s":{{receive / Math.Max(e2eSeconds, 1e-9):0.#}},"e2e_seconds":{{e2eSeconds:0.##}},"patients":{{patients}},"template":"{{options.GetValueOrDefault("--template", "both")}}","store":"{{storeOptions.Provider}}","statuses":{{statuses}}}"""));
        return 0;
    }

    /// <summary>Runs <paramref name="send"/> for 0 … count-1 with <see cref="InFlight"/> calls outstanding.</summary>
    private static async Task ForAllAsync(long count, Func<long, Task> send)
    {
        var next = -1L;
        await Task.WhenAll(Enumerable.Range(0, InFlight).Select(_ => Task.Run(async () =>
        {
            for (var n = Interlocked.Increment(ref next); n < count; n = Interlocked.Increment(ref next))
                await send(n);
        })));
    }

    private static async Task<double> UntilProcessedAsync(ProcessingWorker worker, long target, Stopwatch clock, TextWriter stderr)
    {
        var lastReport = 0.0;
        while (worker.Processed < target)
        {
            if (clock.Elapsed.TotalMinutes > 20)
                throw new TimeoutException($"only {worker.Processed} of {target} processed after 20 minutes");
            await Task.Delay(20);
            if (clock.Elapsed.TotalSeconds - lastReport >= 5)
            {
                lastReport = clock.Elapsed.TotalSeconds;
                stderr.WriteLine($"process: {worker.Processed}/{target} processed, {lastReport:0} s");
            }
        }

        return clock.Elapsed.TotalSeconds;
    }

    private static async Task<string> StatusesAsync(DmpStore store, string run)
    {
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        var rows = await connection.QueryAsync<(string Status, long Count)>(
            "SELECT status, COUNT(*) FROM inbound_message WHERE control_id LIKE @Prefix GROUP BY status ORDER BY status;",
            new { Prefix = "BENCH-" + run + "%" });
        var json = new StringBuilder("{");
        json.AppendJoin(",", rows.Select(r => $"\"{r.Status}\":{r.Count.ToString(CultureInfo.InvariantCulture)}"));
        return json.Append('}').ToString();
    }
}
