using System.Globalization;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Alerts;

/// <summary>The built-in alerts (`Dmp:Alerts:*`): rules, how often they are evaluated, and where notifications go.</summary>
public sealed class AlertsOptions
{
    public const string Section = "Dmp:Alerts";

    /// <summary>Seconds between two evaluations of the rules (and refreshes of the inbox gauges).</summary>
    public int EvaluateSeconds { get; set; } = 15;

    public List<AlertRuleOptions> Rules { get; set; } = [];

    public AlertWebhookOptions Webhook { get; set; } = new();

    public AlertSmtpOptions Smtp { get; set; } = new();
}

/// <summary>One rule, `Dmp:Alerts:Rules:N:*`.</summary>
public sealed class AlertRuleOptions
{
    public string? Name { get; set; }

    /// <summary>What is measured: one of <see cref="AlertKinds.All"/>.</summary>
    public string? When { get; set; }

    /// <summary>In the kind's unit: messages, seconds, messages per minute or days.</summary>
    public double? Threshold { get; set; }

    /// <summary>How long the condition must hold before the rule fires: seconds (`300`) or a duration (`00:05:00`); default 0.</summary>
    public string? For { get; set; }

    /// <summary>A configured sender's name: required by `sender-silent`, narrows the inbox kinds to that sender's messages.</summary>
    public string? Sender { get; set; }
}

/// <summary>`Dmp:Alerts:Webhook:*`: a URL that receives a JSON POST on firing and on clearing.</summary>
public sealed class AlertWebhookOptions
{
    public string? Url { get; set; }
}

/// <summary>`Dmp:Alerts:Smtp:*`: an e-mail on firing and on clearing, through this SMTP server.</summary>
public sealed class AlertSmtpOptions
{
    public string? Host { get; set; }
    public int Port { get; set; } = 25;
    public string? From { get; set; }

    /// <summary>One or more addresses, separated by commas or semicolons.</summary>
    public string? To { get; set; }

    /// <summary>TLS to the server: implicit TLS on port 465, STARTTLS on any other port; false sends in clear.</summary>
    public bool UseTls { get; set; }

    public string? User { get; set; }
    public string? Password { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Host);

    public IReadOnlyList<string> Recipients =>
        (To ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>The kinds of rule (`Dmp:Alerts:Rules:N:When`) and their units.</summary>
public static class AlertKinds
{
    public const string InboxDepth = "inbox-depth";
    public const string OldestAcceptedAge = "oldest-accepted-age";
    public const string FailedRate = "failed-rate";
    public const string RejectedRate = "rejected-rate";
    public const string SenderSilent = "sender-silent";
    public const string CertificateExpiry = "certificate-expiry";

    public static IReadOnlyList<string> All { get; } =
        [InboxDepth, OldestAcceptedAge, FailedRate, RejectedRate, SenderSilent, CertificateExpiry];

    public static string Unit(string kind) => kind switch
    {
        InboxDepth => "messages",
        OldestAcceptedAge or SenderSilent => "seconds",
        FailedRate or RejectedRate => "messages per minute",
        _ => "days",
    };
}

/// <summary>A validated rule.</summary>
/// <param name="For">How long the condition must hold before the rule fires.</param>
public sealed record AlertRule(string Name, string When, double Threshold, TimeSpan For, string? Sender)
{
    /// <summary>
    /// True when <paramref name="value"/> meets the rule: at or above the threshold, except `certificate-expiry`,
    /// which is met when the days left are at or below it.
    /// </summary>
    public bool IsMetBy(double value) => When == AlertKinds.CertificateExpiry ? value <= Threshold : value >= Threshold;

    /// <summary>The rules of validated options (see <see cref="AlertsOptionsValidator"/>).</summary>
    public static IReadOnlyList<AlertRule> From(AlertsOptions options) =>
        options.Rules.Select(r => new AlertRule(r.Name!.Trim(), r.When!.Trim(), r.Threshold!.Value, ParseFor(r.For) ?? TimeSpan.Zero, NullIfBlank(r.Sender))).ToList();

    /// <summary>`For` as seconds (`90`, `1.5`) or a duration (`00:01:30`); null when it is neither (or negative).</summary>
    public static TimeSpan? ParseFor(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return TimeSpan.Zero;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            return seconds is >= 0 and <= 31_536_000 ? TimeSpan.FromSeconds(seconds) : null;
        return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero ? span : null;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>Checks `Dmp:Alerts:*` at start: one line per problem, naming the key and the fix (exit 64).</summary>
public sealed class AlertsOptionsValidator(IConfiguration configuration) : IValidateOptions<AlertsOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertsOptions options)
    {
        var failures = new List<string>();
        if (options.EvaluateSeconds is < 1 or > 3600)
            failures.Add($"Dmp:Alerts:EvaluateSeconds is {options.EvaluateSeconds}: use a whole number of seconds from 1 to 3600, e.g. --Dmp:Alerts:EvaluateSeconds=15");

        var senders = ConfiguredSenders(configuration);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Rules.Count; i++)
        {
            var rule = options.Rules[i];
            var key = $"Dmp:Alerts:Rules:{i}";
            if (string.IsNullOrWhiteSpace(rule.Name))
                failures.Add($"{key}:Name is missing: give the rule a name, e.g. --{key}:Name=inbox-backlog");
            else if (!names.Add(rule.Name.Trim()))
                failures.Add($"{key}:Name '{rule.Name}' is used by another rule: give each rule its own name");

            var when = rule.When?.Trim();
            if (string.IsNullOrEmpty(when))
                failures.Add($"{key}:When is missing: use one of {string.Join(", ", AlertKinds.All)}");
            else if (!AlertKinds.All.Contains(when))
                failures.Add($"{key}:When is '{rule.When}': use one of {string.Join(", ", AlertKinds.All)}");

            if (rule.Threshold is not { } threshold)
                failures.Add($"{key}:Threshold is missing: give the value that fires the rule, in {(when is not null && AlertKinds.All.Contains(when) ? AlertKinds.Unit(when) : "the kind's unit")}, e.g. --{key}:Threshold=100");
            else if (threshold < 0 || double.IsNaN(threshold) || double.IsInfinity(threshold))
                failures.Add($"{key}:Threshold is {threshold.ToString(CultureInfo.InvariantCulture)}: use a number of 0 or more");

            if (AlertRule.ParseFor(rule.For) is null)
                failures.Add($"{key}:For is '{rule.For}': use seconds (e.g. 300) or a duration (e.g. 00:05:00), 0 or more");

            var sender = rule.Sender?.Trim();
            if (when == AlertKinds.SenderSilent && string.IsNullOrEmpty(sender))
                failures.Add($"{key}:Sender is missing: sender-silent watches one configured sender, e.g. --{key}:Sender=lab-a (a Dmp:Mllp:Senders:N:Name or Dmp:Sftp:Sources:N:Name)");
            else if (!string.IsNullOrEmpty(sender) && when == AlertKinds.CertificateExpiry)
                failures.Add($"{key}:Sender is set on a certificate-expiry rule: certificates are not a sender's, remove it");
            else if (!string.IsNullOrEmpty(sender) && !senders.Contains(sender))
                failures.Add($"{key}:Sender '{sender}' is not a configured sender: use a Dmp:Mllp:Senders:N:Name or Dmp:Sftp:Sources:N:Name ({(senders.Count == 0 ? "none is configured" : string.Join(", ", senders.Order(StringComparer.Ordinal)))})");
        }

        if (!string.IsNullOrWhiteSpace(options.Webhook.Url)
            && !(Uri.TryCreate(options.Webhook.Url, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)))
            failures.Add($"Dmp:Alerts:Webhook:Url is '{options.Webhook.Url}': use an absolute http or https URL, e.g. https://alerts.example.org/dmp");

        var smtp = options.Smtp;
        if (smtp.Enabled)
        {
            if (smtp.Port is < 1 or > 65535)
                failures.Add($"Dmp:Alerts:Smtp:Port is {smtp.Port}: use a TCP port between 1 and 65535, e.g. 25 or 587");
            if (string.IsNullOrWhiteSpace(smtp.From))
                failures.Add("Dmp:Alerts:Smtp:From is missing: give the sender address of alert e-mails, e.g. --Dmp:Alerts:Smtp:From=dmp-ingest@hospital.example");
            if (smtp.Recipients.Count == 0)
                failures.Add("Dmp:Alerts:Smtp:To is missing: give one or more addresses, separated by commas");
            if (string.IsNullOrEmpty(smtp.User) != string.IsNullOrEmpty(smtp.Password))
                failures.Add("Dmp:Alerts:Smtp:User and Dmp:Alerts:Smtp:Password go together: set both, or neither");
        }
        else if (!string.IsNullOrWhiteSpace(smtp.From) || !string.IsNullOrWhiteSpace(smtp.To))
        {
            failures.Add("Dmp:Alerts:Smtp:From or To is set but Dmp:Alerts:Smtp:Host is not: give the SMTP server, e.g. --Dmp:Alerts:Smtp:Host=smtp.hospital.example");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The names recorded as `senderName`: MLLP senders and file sources.</summary>
    private static HashSet<string> ConfiguredSenders(IConfiguration configuration) =>
        configuration.GetSection("Dmp:Mllp:Senders").GetChildren()
            .Concat(configuration.GetSection("Dmp:Sftp:Sources").GetChildren())
            .Select(s => s["Name"]?.Trim())
            .Where(n => !string.IsNullOrEmpty(n))
            .Select(n => n!)
            .ToHashSet(StringComparer.Ordinal);
}
