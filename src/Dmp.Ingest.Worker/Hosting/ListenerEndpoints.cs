using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>The endpoints Kestrel bound (ports are known only after start when configured as 0).</summary>
public sealed class ListenerEndpoints
{
    internal ListenOptions? Http { get; set; }
    internal ListenOptions? Mllp { get; set; }

    public IPEndPoint? HttpEndPoint => Http?.IPEndPoint;
    public IPEndPoint? MllpEndPoint => Mllp?.IPEndPoint;
}

/// <summary>Logs where the gateway listens once it does (scripts and tests read these lines).</summary>
public sealed class ListenerAnnouncer(ListenerEndpoints endpoints, IHostApplicationLifetime lifetime, IOptions<HttpOptions> httpOptions, IOptions<Auth.AuthOptions> auth,
    ILogger<ListenerAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = httpOptions.Value;
        // Refused at start unless allowed; allowed, it is said once.
        if (!options.IsLoopback && HttpExposureValidator.Missing(options, auth.Value) is { Count: > 0 } missing)
            logger.LogWarning(new EventId(1001, "HttpExposed"), "HTTP API on {Host} beyond loopback with {Missing}, as Dmp:Http:AllowInsecure=true allows", options.Host, string.Join(" and ", missing));
        lifetime.ApplicationStarted.Register(() =>
        {
            if (endpoints.HttpEndPoint is { } http)
                logger.LogInformation(new EventId(1000, "HttpListening"), "HTTP API listening on {Scheme}://{Endpoint}", options.TlsEnabled ? "https" : "http", http);
            if (endpoints.MllpEndPoint is { } mllp)
                logger.LogInformation(new EventId(2000, "MllpListening"), "MLLP listening on {Endpoint}", mllp);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// The first line of a start: the absolute data, rules and settings paths, so a user sees at once
/// which folder the gateway writes to and which files it reads.
/// </summary>
public sealed class StartupAnnouncer(IOptions<GatewayOptions> gateway, IOptions<RulesOptions> rules, ILogger<StartupAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = GatewayConfiguration.SettingsFiles().Where(File.Exists).ToList();
        logger.LogInformation(new EventId(900, "Starting"), "Starting in {WorkingFolder}: data {DataDir}, rules {Rules}, settings {Settings}",
            Directory.GetCurrentDirectory(), gateway.Value.DataDirFullPath, Path.GetFullPath(rules.Value.Path),
            settings.Count == 0 ? "none (defaults)" : string.Join(" then ", settings));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
