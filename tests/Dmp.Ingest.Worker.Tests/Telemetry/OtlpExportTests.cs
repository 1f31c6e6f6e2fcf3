using System.Collections.Concurrent;
using System.Text;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>
/// `Dmp:Telemetry:OtlpEndpoint`: the gateway pushes its metrics to a collector (here a real HTTP receiver taking OTLP
/// over HTTP/protobuf on a loopback port); wrong settings stop the start with one line naming the key.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Metrics_are_pushed_by_OTLP_over_HTTP_when_an_endpoint_is_set()
    {
        var posts = new ConcurrentQueue<(string Path, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            posts.Enqueue((http.Request.Path.Value!, body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();
        var address = collector.Urls.Single();

        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Telemetry:OtlpEndpoint"] = address,
            ["Dmp:Telemetry:OtlpProtocol"] = "HttpProtobuf",
            ["Dmp:Telemetry:ExportIntervalSeconds"] = "1",
        });
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("OTLP-1"))).Code);

        // The protobuf carries names as UTF-8: the counter's OpenTelemetry name arrives in a /v1/metrics request.
        var wanted = Encoding.UTF8.GetBytes("dmp.messages.received");
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (!posts.Any(p => p.Path == "/v1/metrics" && p.Body.AsSpan().IndexOf(wanted) >= 0))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no OTLP metrics export naming dmp.messages.received; requests: {string.Join(", ", posts.Select(p => p.Path))}");
            await Task.Delay(100);
        }
        await collector.StopAsync();
    }

    [Fact]
    public async Task An_OTLP_endpoint_that_is_not_a_URL_stops_the_start_with_one_line_naming_the_key()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Telemetry:OtlpEndpoint"] = "collector:4317",
        }));

        Assert.Equal("Dmp:Telemetry:OtlpEndpoint 'collector:4317' is not an http(s) URL: use e.g. http://127.0.0.1:4317, or remove it", Assert.Single(failure.Failures));
    }

    [Fact]
    public async Task A_metrics_switch_that_is_not_a_boolean_is_refused_by_the_settings_check()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Metrics:Enabled=maybe", "--Dmp:Telemetry:OtlpProtocol=Carrier");

        Assert.Equal(64, code);
        var lines = stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("error: Dmp:Metrics:Enabled is 'maybe': use true or false", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("error: Dmp:Telemetry:OtlpProtocol is 'Carrier': allowed values are Grpc, HttpProtobuf", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }
}
