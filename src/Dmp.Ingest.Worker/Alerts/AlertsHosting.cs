using Dmp.Ingest.Worker.Auth;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Alerts;

/// <summary>Registers the alerts and the inbox gauges in the gateway, and maps `GET /api/alerts`.</summary>
public static class AlertsHosting
{
    public static IServiceCollection AddGatewayAlerts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AlertsOptions>().Bind(configuration.GetSection(AlertsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertsOptions>, AlertsOptionsValidator>();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new AlertBoard(AlertRule.From(sp.GetRequiredService<IOptions<AlertsOptions>>().Value)));
        services.AddSingleton<InboxSnapshots>();
        services.AddSingleton<InboxGauges>();
        services.AddSingleton<AlertNotifier>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertNotifier>());
        services.AddSingleton<AlertEvaluator>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertEvaluator>());
        return services;
    }

    public static void MapGatewayAlerts(this WebApplication app)
    {
        app.MapGet("/api/alerts", (AlertBoard board, IOptions<AlertsOptions> options) => Results.Json(new
        {
            evaluateSeconds = options.Value.EvaluateSeconds,
            rules = board.Rules.Select(r => r.Snapshot()).Select(s => new
            {
                name = s.Rule.Name,
                when = s.Rule.When,
                sender = s.Rule.Sender,
                threshold = s.Rule.Threshold,
                unit = AlertKinds.Unit(s.Rule.When),
                forSeconds = s.Rule.For.TotalSeconds,
                state = s.Phase.ToString().ToLowerInvariant(),
                value = s.Value,
                since = s.Since,
                evaluatedAt = s.EvaluatedAt,
                lastNotification = s.LastNotification is { } n
                    ? new { state = n.State, at = n.At, webhook = n.Webhook, email = n.Email }
                    : null,
            }),
        })).RequireAuthorization(DmpClaims.OperatorPolicy);
    }
}
