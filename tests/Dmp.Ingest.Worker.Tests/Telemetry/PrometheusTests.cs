using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>
/// A real Prometheus (Debian's `prometheus` package, started here on a free loopback port with a configuration of its own)
/// scrapes an in-process gateway every second; PromQL through its HTTP API sees what was sent. `promtool` checks the shipped
/// alert rules and the dashboard's queries.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class PrometheusTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_real_Prometheus_scraping_the_gateway_sums_the_messages_sent()
    {
        var prometheus = Tool("prometheus");
        await using var gateway = await TestGateway.StartAsync(MetricsTests.LabSender("prometheus"));
        var work = Directory.CreateTempSubdirectory("dmp-prometheus-");
        var port = FreePort();
        File.WriteAllText(Path.Combine(work.FullName, "prometheus.yml"),
            $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: dmp-ingest
                metrics_path: /metrics
                static_configs:
                  - targets: ["127.0.0.1:{gateway.Http.Port}"]
            """);
        using var process = Process.Start(new ProcessStartInfo(prometheus)
        {
            ArgumentList =
            {
                "--config.file=" + Path.Combine(work.FullName, "prometheus.yml"),
                "--storage.tsdb.path=" + Path.Combine(work.FullName, "data"),
                $"--web.listen-address=127.0.0.1:{port}",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            const int sent = 25;
            await using (var client = await gateway.ConnectAsync())
            {
                for (var i = 0; i < sent; i++)
                    Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"PROM-{i}"))).Code);
            }
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };

            var received = await QueryUntilAsync(http, "sum(dmp_messages_received_total)", sent, process, log);
            var acked = await QueryUntilAsync(http, "sum(dmp_messages_acked_total{code=\"AA\", sender=\"lab\", channel=\"prometheus\"})", sent, process, log);
            var acks = await QueryUntilAsync(http, "sum(dmp_mllp_ack_duration_seconds_count)", sent, process, log);

            string Diagnosis()
            {
                lock (log)
                    return $"prometheus on port {port} scraping 127.0.0.1:{gateway.Http.Port}: {log}";
            }
            Assert.True((sent, sent, sent) == (received, acked, acks), $"({received}, {acked}, {acks}) instead of {sent} each; {Diagnosis()}");
            // The target is up, as Prometheus itself sees it.
            Assert.Equal(1, await QueryAsync(http, "up{job=\"dmp-ingest\"}"));
        }
        finally
        {
            // Only the process this test started.
            if (!process.HasExited)
                process.Kill();
            using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(stopped.Token);
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Promtool_accepts_the_example_alert_rules()
    {
        var (code, output) = await RunAsync(Tool("promtool"), "check", "rules", MetricsDocsTests.DocsFile("alerts.example.yaml"));

        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS: 6 rules found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_dashboard_query_is_valid_PromQL()
    {
        var promtool = Tool("promtool");
        var work = Directory.CreateTempSubdirectory("dmp-promql-");
        try
        {
            // Each query as a recording rule, Grafana's variables replaced by what they stand for.
            var rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
            var i = 0;
            foreach (var expression in MetricsDocsTests.DashboardExpressions().Where(e => !e.StartsWith("label_values(", StringComparison.Ordinal)))
            {
                var promql = expression.Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                    .Replace("$channel", ".*", StringComparison.Ordinal).Replace("$sender", ".*", StringComparison.Ordinal);
                rules.Append(CultureInfo.InvariantCulture, $"      - record: dashboard:query{i++}\n        expr: {JsonSerializer.Serialize(promql)}\n");
            }
            var file = Path.Combine(work.FullName, "dashboard.rules.yaml");
            File.WriteAllText(file, rules.ToString());

            var (code, output) = await RunAsync(promtool, "check", "rules", file);

            Assert.True(code == 0, output + "\n" + rules);
            Assert.Contains($"SUCCESS: {i} rules found", output, StringComparison.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The full path of a command of the `prometheus` package; a missing one fails the test with the install step.</summary>
    private static string Tool(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
                return path;
        }
        Assert.Fail($"{name} is not installed: run `apt-get install -y prometheus` (./test.sh installs it with the other prerequisites)");
        return "";
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Queries until the instant vector's single value is <paramref name="expected"/> (the last value read when time runs out).</summary>
    private static async Task<double> QueryUntilAsync(HttpClient http, string query, double expected, Process prometheus, StringBuilder log)
    {
        var deadline = DateTime.UtcNow + Patience;
        double? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (prometheus.HasExited)
            {
                lock (log)
                    Assert.Fail($"prometheus exited with {prometheus.ExitCode}: {log}");
            }
            try
            {
                last = await QueryAsync(http, query);
                if (last == expected)
                    return expected;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
                lock (log)
                    log.AppendLine("query: " + e.Message);
            }
            await Task.Delay(250);
        }
        return last ?? double.NaN;
    }

    /// <summary>The value of a query whose answer is one sample; NaN when it has none yet.</summary>
    private static async Task<double> QueryAsync(HttpClient http, string query)
    {
        using var response = await http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query));
        var text = await response.Content.ReadAsStringAsync();
        // While its storage opens, Prometheus answers 503 "Service Unavailable" in plain text: not ready yet.
        if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
            throw new HttpRequestException("prometheus is not ready: " + text.Trim());
        var body = JsonDocument.Parse(text).RootElement;
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        var result = body.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0
            ? double.NaN
            : double.Parse(result[0].GetProperty("value")[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var (code, stdout, stderr) = await ChildProcess.RunToEndAsync(start, Patience);
        return (code, stdout + stderr);
    }
}
