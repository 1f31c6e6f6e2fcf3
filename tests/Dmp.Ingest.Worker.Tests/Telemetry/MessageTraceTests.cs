using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Telemetry;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Ingest.Worker.Tests.Sftp;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>
/// One W3C trace per inbound message: every row has a 32-hex trace id in /api/messages whatever came in and however,
/// with nobody recording traces; with a listener, the spans of the message from receive to apply share that id and
/// hang together; and log lines written while the message is received carry it, exporter or not.
/// </summary>
/// <remarks>The tests of this class run one after another: one attaches a process-wide listener, another needs none.</remarks>
public sealed partial class MessageTraceTests
{
    [Fact(Timeout = 90_000)]
    public async Task Every_inbound_message_by_MLLP_or_drop_folder_accepted_rejected_or_malformed_has_its_own_trace_id()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-trace-drop-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder);
            await using (var client = await gateway.ConnectAsync())
            {
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("TR-OK"))).Code);
                // Rejected at the door: MSH-9 empty (a readable header, so the NACK names it).
                var noType = Encoding.ASCII.GetBytes("MSH|^~\\&|APP|FAC|DMP|DMP|20260101120000||||TR-NOTYPE|P|2.5\rPID|1||1^^^FAC^PI\r");
                Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync(noType)).Code);
                // Malformed: not HL7 at all.
                Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync("this is not HL7 v2"u8.ToArray())).Code);
            }
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "adt.hl7"), Hl7Samples.Adt("TR-FILE"));
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "junk.txt"), "neither HL7 nor CDA");
            await gateway.Poller().PollOnceAsync("drop");
            await gateway.Poller().PollOnceAsync("drop");

            var rows = await gateway.MessagesAsync();
            Assert.Equal(5, rows.Count);
            Assert.Equal(["accepted", "accepted", "rejected", "rejected", "rejected"],
                rows.Select(r => r.Str("status") == "processed" || r.Str("status") == "held" ? "accepted" : r.Str("status")).Order());
            Assert.Equal(2, rows.Count(r => r.Str("channel") == "drop"));
            foreach (var row in rows)
            {
                Assert.Matches(TraceIdPattern(), row.Str("traceId") ?? "(none)");
                Assert.Equal(row.Str("traceId"), (await gateway.GetAsync(row.Id())).Str("traceId"));
            }
            Assert.Equal(rows.Count, rows.Select(r => r.Str("traceId")).Distinct().Count());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_listener_sees_receive_commit_ack_then_parse_map_apply_in_the_one_trace_the_message_lists()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MessageTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var gateway = await TestGateway.StartAsync();
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(CorpusFeed.LabReport(83))).Code);
        var row = Assert.Single(await gateway.MessagesAsync());
        await gateway.WaitForStatusAsync(row.Id(), "processed");
        var traceId = row.Str("traceId");
        Assert.Matches(TraceIdPattern(), traceId ?? "(none)");

        // Spans end after the outcome is committed: wait for the last one.
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        List<Activity> trace;
        while (true)
        {
            trace = spans.Where(s => s.TraceId.ToHexString() == traceId).ToList();
            if (trace.Any(s => s.OperationName == "process") || DateTime.UtcNow > deadline)
                break;
            await Task.Delay(20);
        }

        var names = trace.Select(s => s.OperationName).ToList();
        foreach (var name in (string[])["receive", "inbox commit", "ack", "process", "parse", "map", "apply"])
            Assert.True(names.Contains(name), $"no {name} span in the message's trace: {string.Join(", ", names)}");
        var receive = Assert.Single(trace, s => s.OperationName == "receive");
        var process = Assert.Single(trace, s => s.OperationName == "process");
        Assert.Equal(default, receive.ParentSpanId);
        Assert.Equal(row.Id(), receive.GetTagItem("dmp.message_id"));
        Assert.Equal("accepted", receive.GetTagItem("dmp.status"));
        Assert.Equal(receive.SpanId, Assert.Single(trace, s => s.OperationName == "inbox commit").ParentSpanId);
        var ack = Assert.Single(trace, s => s.OperationName == "ack");
        Assert.Equal(receive.SpanId, ack.ParentSpanId);
        Assert.Equal("AA", ack.GetTagItem("dmp.ack_code"));
        Assert.Equal(receive.SpanId, process.ParentSpanId);
        Assert.Equal("processed", process.GetTagItem("dmp.status"));
        Assert.All(trace.Where(s => s.OperationName is "parse" or "map" or "apply"), s => Assert.Equal(process.SpanId, s.ParentSpanId));
        // In order: the ACK leaves after the commit, processing starts after the receive.
        var commit = trace.Single(s => s.OperationName == "inbox commit");
        Assert.True(ack.StartTimeUtc >= commit.StartTimeUtc + commit.Duration - TimeSpan.FromMilliseconds(1));
        Assert.True(process.StartTimeUtc >= receive.StartTimeUtc);
        // No message content on any span: ids, codes and statuses only.
        Assert.All(trace.SelectMany(s => s.TagObjects), tag => Assert.StartsWith("dmp.", tag.Key, StringComparison.Ordinal));
    }

    [Fact(Timeout = 90_000)]
    public async Task Log_lines_written_while_a_message_is_received_carry_its_trace_id_with_no_exporter()
    {
        // No listener of the test's own: the gateway keeps the spans' ids by itself (MessageTraceIds).
        var lines = new TraceCapture();
        await using var gateway = await TestGateway.StartAsync(configure: builder => builder.Logging.AddProvider(lines));
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync("not HL7 either"u8.ToArray())).Code);
        var row = Assert.Single(await gateway.MessagesAsync());

        // The door's warning about the rejected message is written inside its receive span.
        var rejected = Assert.Single(lines.Entries, e => e.Category.EndsWith("InboundReceiver", StringComparison.Ordinal) && e.Level == LogLevel.Warning);
        Assert.Equal(row.Str("traceId"), rejected.TraceId);
    }

    [Fact(Timeout = 90_000)]
    public async Task Reading_a_document_or_its_content_links_the_request_to_the_trace_of_the_message_that_brought_it()
    {
        var requests = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is MessageTracing.SourceName or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { if (a.Source.Name == "Microsoft.AspNetCore") requests.Enqueue(a); },
        };
        ActivitySource.AddActivityListener(listener);
        await using var gateway = await TestGateway.StartAsync();
        var feeder = new CorpusFeeder(gateway);
        await feeder.SendAsync(CorpusFeed.Admission(84));
        await feeder.SendAsync(CorpusFeed.LabReport(84));
        foreach (var message in await gateway.MessagesAsync())
            await gateway.WaitForStatusAsync(message.Id(), "processed");
        var lab = (await gateway.MessagesAsync()).First(m => m.Str("messageType")!.StartsWith("ORU", StringComparison.Ordinal));
        var documentId = await feeder.ScalarAsync("SELECT id FROM document WHERE unique_id = @Value", CorpusFeed.LabId(84));

        using var patient = gateway.Client(TestGateway.Token(Dmp.Ingest.Worker.Auth.DmpClaims.Patient, CorpusFeed.Ins(84)));
        using (var read = await patient.GetAsync($"/fhir/DocumentReference/{documentId}"))
            Assert.True(read.IsSuccessStatusCode, $"{read.StatusCode} {await read.Content.ReadAsStringAsync()}");
        using (var content = await patient.GetAsync($"/fhir/Binary/{documentId}"))
            Assert.True(content.IsSuccessStatusCode, $"{content.StatusCode} {await content.Content.ReadAsStringAsync()}");

        var deadline = DateTime.UtcNow + TestGateway.Patience;
        List<Activity> linked;
        while (true)
        {
            linked = requests.Where(r => r.Links.Any(l => l.Context.TraceId.ToHexString() == lab.Str("traceId"))).ToList();
            if (linked.Count >= 2 || DateTime.UtcNow > deadline)
                break;
            await Task.Delay(20);
        }
        Assert.Equal(2, linked.Count);
        Assert.All(linked, r => Assert.Contains(r.Links, l => Equals(l.Tags?.FirstOrDefault(t => t.Key == "dmp.message_id").Value, lab.Id())));
        // The link points at the message's receive span, not only its trace.
        Assert.All(linked, r => Assert.Contains(r.Links, l => l.Context.SpanId != default));
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex TraceIdPattern();

    /// <summary>Records each entry's category, level and the trace id current when it was written.</summary>
    private sealed class TraceCapture : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string? TraceId)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string?)> into) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                into.Enqueue((category, logLevel, Activity.Current?.TraceId.ToHexString()));
        }
    }
}
