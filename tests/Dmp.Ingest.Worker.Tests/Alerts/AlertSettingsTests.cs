using Dmp.Ingest.Worker.Alerts;
using Microsoft.Extensions.Configuration;

namespace Dmp.Ingest.Worker.Tests.Alerts;

/// <summary>`Dmp:Alerts:*` is checked at start: one line per wrong key, naming it and the fix, exit 64.</summary>
public sealed class AlertSettingsTests
{
    private static IReadOnlyList<string> Problems(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = configuration.GetSection(AlertsOptions.Section).Get<AlertsOptions>() ?? new AlertsOptions();
        var result = new AlertsOptionsValidator(configuration).Validate(null, options);
        return result.Failed ? result.Failures.ToList() : [];
    }

    [Fact]
    public void A_complete_configuration_is_accepted_and_becomes_rules()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Senders:0:Name"] = "lab-a",
            ["Dmp:Alerts:Rules:0:Name"] = "backlog",
            ["Dmp:Alerts:Rules:0:When"] = "inbox-depth",
            ["Dmp:Alerts:Rules:0:Threshold"] = "500",
            ["Dmp:Alerts:Rules:0:For"] = "00:05:00",
            ["Dmp:Alerts:Rules:1:Name"] = "lab-quiet",
            ["Dmp:Alerts:Rules:1:When"] = "sender-silent",
            ["Dmp:Alerts:Rules:1:Threshold"] = "3600",
            ["Dmp:Alerts:Rules:1:Sender"] = "lab-a",
            ["Dmp:Alerts:Webhook:Url"] = "https://alerts.example.org/dmp",
            ["Dmp:Alerts:Smtp:Host"] = "smtp.example.org",
            ["Dmp:Alerts:Smtp:From"] = "dmp@example.org",
            ["Dmp:Alerts:Smtp:To"] = "ops@example.org, oncall@example.org",
        };

        Assert.Empty(Problems(settings));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = configuration.GetSection(AlertsOptions.Section).Get<AlertsOptions>()!;
        Assert.Equal(
            [new AlertRule("backlog", "inbox-depth", 500, TimeSpan.FromMinutes(5), null), new AlertRule("lab-quiet", "sender-silent", 3600, TimeSpan.Zero, "lab-a")],
            AlertRule.From(options));
        Assert.Equal(["ops@example.org", "oncall@example.org"], options.Smtp.Recipients);
    }

    [Fact]
    public void Each_wrong_rule_key_is_one_line_naming_it()
    {
        var problems = Problems(new Dictionary<string, string?>
        {
            ["Dmp:Alerts:Rules:0:When"] = "queue-length",
            ["Dmp:Alerts:Rules:0:Threshold"] = "5",
            ["Dmp:Alerts:Rules:1:Name"] = "quiet",
            ["Dmp:Alerts:Rules:1:When"] = "sender-silent",
            ["Dmp:Alerts:Rules:2:Name"] = "depth",
            ["Dmp:Alerts:Rules:2:When"] = "inbox-depth",
            ["Dmp:Alerts:Rules:2:Threshold"] = "-1",
            ["Dmp:Alerts:Rules:2:For"] = "soon",
            ["Dmp:Alerts:Rules:2:Sender"] = "nobody",
        });

        Assert.Equal(7, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("Dmp:Alerts:Rules:0:Name is missing", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Dmp:Alerts:Rules:0:When is 'queue-length': use one of inbox-depth, oldest-accepted-age, failed-rate, rejected-rate, sender-silent, certificate-expiry", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Dmp:Alerts:Rules:1:Threshold is missing: give the value that fires the rule, in seconds", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Dmp:Alerts:Rules:1:Sender is missing", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Dmp:Alerts:Rules:2:Threshold is -1", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Dmp:Alerts:Rules:2:For is 'soon'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Dmp:Alerts:Rules:2:Sender 'nobody' is not a configured sender", StringComparison.Ordinal));
    }

    [Fact]
    public void Notification_settings_that_cannot_work_are_named()
    {
        var problems = Problems(new Dictionary<string, string?>
        {
            ["Dmp:Alerts:EvaluateSeconds"] = "0",
            ["Dmp:Alerts:Webhook:Url"] = "alerts.example.org",
            ["Dmp:Alerts:Smtp:Host"] = "smtp.example.org",
            ["Dmp:Alerts:Smtp:User"] = "dmp",
        });

        string[] expected =
        [
            "Dmp:Alerts:EvaluateSeconds is 0: ",
            "Dmp:Alerts:Webhook:Url is 'alerts.example.org': ",
            "Dmp:Alerts:Smtp:From is missing: ",
            "Dmp:Alerts:Smtp:To is missing: ",
            "Dmp:Alerts:Smtp:User and Dmp:Alerts:Smtp:Password go together: ",
        ];
        Assert.Equal(expected.Length, problems.Count);
        Assert.All(expected.Zip(problems), p => Assert.StartsWith(p.First, p.Second, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_refuses_a_threshold_that_is_not_a_number_with_one_line_and_exit_64()
    {
        var data = Directory.CreateTempSubdirectory("dmp-alerts-settings-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}",
                "--Dmp:Alerts:Rules:0:Name=x", "--Dmp:Alerts:Rules:0:When=inbox-depth", "--Dmp:Alerts:Rules:0:Threshold=many");

            Assert.Equal(64, code);
            var line = Assert.Single(stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: Dmp:Alerts:Rules:0:Threshold is 'many': use a number", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Serve_names_the_unknown_kind_and_the_missing_threshold_and_exits_64()
    {
        var data = Directory.CreateTempSubdirectory("dmp-alerts-settings-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}",
                "--Dmp:Alerts:Rules:0:Name=backlog", "--Dmp:Alerts:Rules:0:When=queue", "--Dmp:Alerts:Rules:0:Threshold=5",
                "--Dmp:Alerts:Rules:1:Name=failures", "--Dmp:Alerts:Rules:1:When=failed-rate");

            Assert.Equal(64, code);
            var lines = stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.Contains(lines, l => l.StartsWith("error: invalid configuration: Dmp:Alerts:Rules:0:When is 'queue': use one of inbox-depth,", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("error: invalid configuration: Dmp:Alerts:Rules:1:Threshold is missing", StringComparison.Ordinal));
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
