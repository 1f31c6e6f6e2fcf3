using System.Globalization;
using System.Net.Http.Json;
using System.Threading.Channels;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Dmp.Ingest.Worker.Alerts;

/// <summary>
/// Sends each transition, in order, by webhook (`Dmp:Alerts:Webhook:Url`, a JSON POST) and/or e-mail
/// (`Dmp:Alerts:Smtp:*`), each retried with back-off a bounded number of times. Runs apart from the evaluator, so a
/// slow or failing channel never delays nor stops an evaluation; a failure is logged (alert name and error kind only)
/// and shown by `GET /api/alerts`.
/// </summary>
public sealed class AlertNotifier : BackgroundService
{
    /// <summary>Attempts per channel and notification; waits of 1, 2, 4 … seconds between them.</summary>
    public const int Attempts = 5;

    private readonly Channel<AlertTransition> _queue = Channel.CreateUnbounded<AlertTransition>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AlertsOptions _options;
    private readonly AlertBoard _board;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertNotifier> _logger;
    private readonly HttpClient _http;

    public AlertNotifier(IOptions<AlertsOptions> options, AlertBoard board, TimeProvider time, ILogger<AlertNotifier> logger)
    {
        _options = options.Value;
        _board = board;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Queues one notification; returns at once.</summary>
    public void Enqueue(AlertTransition transition) => _queue.Writer.TryWrite(transition);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var transition in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                string? webhook = null, email = null;
                if (!string.IsNullOrWhiteSpace(_options.Webhook.Url))
                    webhook = await DeliverAsync(transition, "webhook", ct => PostAsync(transition, ct), stoppingToken);
                if (_options.Smtp.Enabled)
                    email = await DeliverAsync(transition, "e-mail", ct => MailAsync(transition, ct), stoppingToken);
                _board.Find(transition.Rule.Name)?.Notified(new AlertNotificationRecord(transition.State, _time.GetUtcNow(), webhook, email));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Up to <see cref="Attempts"/> tries with back-off; "delivered" or "failed: …" for the API.</summary>
    private async Task<string> DeliverAsync(AlertTransition transition, string channel, Func<CancellationToken, Task> send, CancellationToken stoppingToken)
    {
        var wait = TimeSpan.FromSeconds(1);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await send(stoppingToken);
                return "delivered";
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                var error = Describe(e);
                if (attempt == Attempts)
                {
                    _logger.LogError(new EventId(7102, "AlertNotificationFailed"),
                        "Alert {Alert} ({State}): {Channel} notification failed after {Attempts} attempts ({Error})",
                        transition.Rule.Name, transition.State, channel, attempt, error);
                    return "failed: " + error;
                }
                _logger.LogWarning(new EventId(7101, "AlertNotificationRetry"),
                    "Alert {Alert} ({State}): {Channel} notification attempt {Attempt} failed ({Error}); retrying in {Seconds} s",
                    transition.Rule.Name, transition.State, channel, attempt, error, wait.TotalSeconds);
                await Task.Delay(wait, _time, stoppingToken);
                wait *= 2;
            }
        }
    }

    // The error's kind and status only: an exception message may quote a server's reply.
    private static string Describe(Exception e) => e switch
    {
        HttpRequestException { StatusCode: { } status } => $"HTTP {(int)status}",
        SmtpCommandException smtp => $"SMTP {(int)smtp.StatusCode}",
        _ => e.GetType().Name,
    };

    private async Task PostAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsJsonAsync(_options.Webhook.Url, new
        {
            alert = transition.Rule.Name,
            state = transition.State,
            value = transition.Value,
            threshold = transition.Rule.Threshold,
            since = transition.Since,
        }, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    private async Task MailAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        var smtp = _options.Smtp;
        using var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(smtp.From!));
        foreach (var to in smtp.Recipients)
            message.To.Add(MailboxAddress.Parse(to));
        var rule = transition.Rule;
        message.Subject = $"[dmp-ingest] {transition.State.ToUpperInvariant()}: {rule.Name}";
        message.Body = new TextPart("plain")
        {
            Text = string.Create(CultureInfo.InvariantCulture,
                $"""
                alert: {rule.Name}
                state: {transition.State}
                when: {rule.When}{(rule.Sender is null ? "" : $" (sender {rule.Sender})")}
                value: {(transition.Value is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) : "none")} {AlertKinds.Unit(rule.When)}
                threshold: {rule.Threshold.ToString("0.###", CultureInfo.InvariantCulture)} {AlertKinds.Unit(rule.When)}
                since: {transition.Since:yyyy-MM-ddTHH:mm:ssZ}
                """),
        };

        using var client = new SmtpClient { Timeout = 10_000 };
        var security = !smtp.UseTls ? SecureSocketOptions.None : smtp.Port == 465 ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls;
        await client.ConnectAsync(smtp.Host!, smtp.Port, security, cancellationToken);
        if (!string.IsNullOrEmpty(smtp.User))
            await client.AuthenticateAsync(smtp.User, smtp.Password ?? "", cancellationToken);
        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(true, cancellationToken);
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
