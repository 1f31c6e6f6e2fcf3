using System.Text.Json;
using System.Text.RegularExpressions;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>The shipped Grafana dashboard and Prometheus alert rules query only metrics the gateway exports.</summary>
public sealed partial class MetricsDocsTests
{
    /// <summary>
    /// The issue's names (the scrape tests show each one at /metrics); the two inbox gauges come from the alerts part of the
    /// gateway. Histograms are queried by their series.
    /// </summary>
    internal static readonly IReadOnlySet<string> Exported = new[]
    {
        "dmp_messages_received_total", "dmp_messages_acked_total", "dmp_messages_processed_total",
        "dmp_inbox_messages", "dmp_inbox_oldest_accepted_age_seconds",
        "dmp_mllp_connections", "dmp_tls_handshake_failures_total", "dmp_certificate_expiry_seconds", "dmp_dossier_requests_total",
        "dmp_processing_deferrals_total",
    }.Concat(new[] { "dmp_mllp_ack_duration_seconds", "dmp_processing_duration_seconds", "http_server_request_duration_seconds" }
        .SelectMany(h => new[] { h + "_bucket", h + "_sum", h + "_count" }))
        .ToHashSet(StringComparer.Ordinal);

    internal static string DocsFile(string name) => Path.Combine(ReadmeTests.RepositoryRoot(), "docs", name);

    /// <summary>Every `expr` of the dashboard's panels and variables' queries.</summary>
    internal static List<string> DashboardExpressions()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DocsFile("grafana-dashboard.json")));
        var root = dashboard.RootElement;
        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()));
        Assert.Equal(JsonValueKind.Number, root.GetProperty("schemaVersion").ValueKind);
        var expressions = new List<string>();
        foreach (var panel in root.GetProperty("panels").EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Object, panel.GetProperty("gridPos").ValueKind);
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
                expressions.Add(target.GetProperty("expr").GetString()!);
        }
        foreach (var variable in root.GetProperty("templating").GetProperty("list").EnumerateArray())
            expressions.Add(variable.GetProperty("definition").GetString()!);
        return expressions;
    }

    [Fact]
    public void The_dashboard_queries_only_exported_metrics_and_shows_every_one()
    {
        var expressions = DashboardExpressions();
        Assert.True(expressions.Count >= 10, $"{expressions.Count} queries");
        var named = expressions.SelectMany(MetricNames).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(named.Except(Exported));
        // Each exported metric is on the dashboard (a histogram by any of its series).
        var shown = Exported.Where(e => named.Any(n => Base(n) == Base(e))).Select(Base).ToHashSet();
        Assert.Empty(Exported.Select(Base).Distinct().Except(shown));
    }

    [Fact]
    public void The_alert_rules_query_only_exported_metrics_and_cover_the_built_in_kinds()
    {
        var yaml = File.ReadAllText(DocsFile("alerts.example.yaml"));
        var named = MetricNames(yaml).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(named.Except(Exported));
        foreach (var alert in new[] { "DmpInboxDepth", "DmpOldestAcceptedAge", "DmpFailedRate", "DmpRejectedRate", "DmpSenderSilent", "DmpCertificateExpiry" })
            Assert.Contains("- alert: " + alert, yaml, StringComparison.Ordinal);
    }

    /// <summary>The metric names a PromQL text (or YAML holding some) uses: the gateway's and the HTTP server's.</summary>
    internal static IEnumerable<string> MetricNames(string text) => MetricName().Matches(text).Select(m => m.Value);

    private static string Base(string name) => Regex.Replace(name, "_(bucket|sum|count)$", "");

    [GeneratedRegex(@"\b(dmp|http_server)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}
