using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>`Dmp:Logging:Format=json`: JSON lines with the trace id of the span they were written in, exceptions by type only.</summary>
public sealed partial class JsonLogTests
{
    [Fact]
    public void An_entry_inside_a_span_is_one_JSON_line_with_its_trace_and_span_and_only_the_exception_type()
    {
        using var source = new ActivitySource("Dmp.Tests.JsonLog");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var formatter = new GatewayJsonFormatter();
        var output = new StringWriter();
        var failure = new IOException("disk said: DUPONT^JEAN\nsecond line");
        using (var span = source.StartActivity("receive"))
        {
            Assert.NotNull(span);
            formatter.Write(new LogEntry<string>(LogLevel.Warning, "Dmp.Ingest.Worker.Pipeline.InboundReceiver", new EventId(7), "Message 12 rejected \"quoted\"\nnext",
                failure, (state, _) => state), null, output);
            formatter.Write(new LogEntry<string>(LogLevel.Information, "Dmp.Audit", default, "Operator read", null, (state, _) => state), null, output);

            var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            var first = JsonDocument.Parse(lines[0]).RootElement;
            Assert.Equal("warning", first.GetProperty("level").GetString());
            Assert.Equal("Dmp.Ingest.Worker.Pipeline.InboundReceiver", first.GetProperty("category").GetString());
            Assert.Equal("Message 12 rejected \"quoted\"\nnext", first.GetProperty("message").GetString());
            Assert.Equal(span.TraceId.ToHexString(), first.GetProperty("traceId").GetString());
            Assert.Equal(span.SpanId.ToHexString(), first.GetProperty("spanId").GetString());
            Assert.Equal("System.IO.IOException", first.GetProperty("exception").GetString());
            Assert.True(DateTimeOffset.TryParse(first.GetProperty("timestamp").GetString(), out _));
            Assert.DoesNotContain("DUPONT", output.ToString(), StringComparison.Ordinal);
            Assert.Equal("information", JsonDocument.Parse(lines[1]).RootElement.GetProperty("level").GetString());
        }

        // Outside any span: no trace fields rather than empty ones.
        var outside = new StringWriter();
        formatter.Write(new LogEntry<string>(LogLevel.Information, "Dmp", default, "started", null, (state, _) => state), null, outside);
        var line = JsonDocument.Parse(outside.ToString()).RootElement;
        Assert.False(line.TryGetProperty("traceId", out _));
        Assert.False(line.TryGetProperty("exception", out _));
    }

    [Fact]
    public void The_text_format_names_the_trace_of_the_span_it_is_written_in()
    {
        using var source = new ActivitySource("Dmp.Tests.TextLog");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var formatter = new GatewayConsoleFormatter(new StaticOptions(new GatewayConsoleOptions()));
        var inside = new StringWriter();
        using (var span = source.StartActivity("receive"))
        {
            formatter.Write(new LogEntry<string>(LogLevel.Warning, "Dmp.X", default, "rejected", null, (state, _) => state), null, inside);
            Assert.Contains($"Dmp.X[0] trace={span!.TraceId.ToHexString()} rejected", inside.ToString(), StringComparison.Ordinal);
        }
        var outside = new StringWriter();
        formatter.Write(new LogEntry<string>(LogLevel.Warning, "Dmp.X", default, "rejected", null, (state, _) => state), null, outside);
        Assert.Contains("Dmp.X[0] rejected", outside.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Tier", "Slow")]
    public async Task A_gateway_process_with_Format_json_writes_only_JSON_lines_and_a_request_line_carries_its_trace_id()
    {
        var dataDir = Directory.CreateTempSubdirectory("dmp-jsonlog-");
        try
        {
            await using var gateway = await GatewayProcess.StartAsync(dataDir.FullName, "--Dmp:Logging:Format=json", "--Logging:LogLevel:Default=Information");
            await using (var client = await MllpTestClient.ConnectAsync(gateway.Mllp))
                Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync("not HL7 v2"u8.ToArray())).Code);
            using var api = gateway.OperatorClient();
            var row = Assert.Single(await TestGateway.Messages(api));
            // An audited read logs at Information inside its HTTP request's span.
            using (var raw = await api.GetAsync($"/api/messages/{row.Id()}/raw"))
                Assert.True(raw.IsSuccessStatusCode, raw.StatusCode.ToString());
            Assert.Equal(0, await gateway.StopAsync());

            var lines = gateway.Lines.Where(l => l.Length > 0).ToList();
            Assert.Contains(lines, l => l.Contains("MLLP listening on", StringComparison.Ordinal));
            var entries = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
            foreach (var entry in entries)
            {
                foreach (var field in (string[])["timestamp", "level", "category", "message"])
                    Assert.True(entry.TryGetProperty(field, out _), $"no {field} in {entry}");
                Assert.All(entry.EnumerateObject(), p => Assert.Contains(p.Name, (string[])["timestamp", "level", "category", "message", "traceId", "spanId", "exception"]));
            }
            var audit = Assert.Single(entries, e => e.GetProperty("category").GetString() == "Dmp.Audit");
            Assert.Matches(TraceIdPattern(), audit.GetProperty("traceId").GetString());
            Assert.Contains(entries, e => e.GetProperty("level").GetString() == "warning" && e.GetProperty("message").GetString()!.Contains($"Message {row.Id()}", StringComparison.Ordinal));
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_log_format_or_a_disk_minimum_that_is_not_allowed_is_one_line_naming_the_key_and_exit_64()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Logging:Format=xml", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0");
        Assert.Equal(64, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: Dmp:Logging:Format is 'xml': allowed values are Text, Json;", line, StringComparison.Ordinal);

        var data = Directory.CreateTempSubdirectory("dmp-health-key-");
        try
        {
            (code, _, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Health:MinFreeDiskMb=-5", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}");
            Assert.Equal(64, code);
            Assert.Contains("Dmp:Health:MinFreeDiskMb is -5: use a number of megabytes", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex TraceIdPattern();

    private sealed class StaticOptions(GatewayConsoleOptions value) : Microsoft.Extensions.Options.IOptionsMonitor<GatewayConsoleOptions>
    {
        public GatewayConsoleOptions CurrentValue => value;
        public GatewayConsoleOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<GatewayConsoleOptions, string?> listener) => null;
    }
}
