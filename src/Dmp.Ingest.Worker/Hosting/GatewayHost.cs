using System.Net;
using Dmp.Ingest.Worker.Alerts;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Ingest.Worker.Operator;
using Dmp.Ingest.Worker.OperatorConsole;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Ingest.Worker.Retention;
using Dmp.Ingest.Worker.Telemetry;
using Dmp.Store;
using Dmp.Store.Dossier;
using Dmp.Store.Retention;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>
/// Builds the gateway's host: configuration, validated options, the store, Kestrel with the HTTP API
/// and the MLLP listener side by side, the processing worker, authentication and health.
/// </summary>
public static class GatewayHost
{
    /// <param name="verbose">`serve --verbose`: exceptions with their stack traces on the console.</param>
    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, Action<WebApplicationBuilder>? configure = null, bool verbose = false)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        GatewayConfiguration.AddSources(builder.Configuration, overrides);
        var config = builder.Configuration;
        // A value that does not convert is one line per key (exit 64), before the binder throws about .NET types.
        SettingsCheck.ThrowIfInvalid(config);

        builder.Logging.AddConfiguration(config.GetSection("Logging"));
        builder.Logging.AddGatewayLogging(config, verbose);
        // The host logs a failed start with its exception; `serve` prints that failure as one clean line instead.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => level >= LogLevel.Information && (level < LogLevel.Error || verbose));

        var services = builder.Services;
        services.AddOptions<GatewayOptions>().Bind(config.GetSection(GatewayOptions.Section)).ValidateOnStart();
        services.AddOptions<HttpOptions>().Bind(config.GetSection(HttpOptions.Section)).ValidateOnStart();
        services.AddOptions<RulesOptions>().Bind(config.GetSection(RulesOptions.Section)).ValidateOnStart();
        services.AddOptions<MllpOptions>().Bind(config.GetSection(MllpOptions.Section)).ValidateOnStart();
        services.AddOptions<AuthOptions>().Bind(config.GetSection(AuthOptions.Section)).ValidateOnStart();
        services.AddOptions<StoreOptions>().Bind(config.GetSection(StoreOptions.Section)).ValidateOnStart();
        services.AddOptions<BlobOptions>().Bind(config.GetSection(BlobOptions.Section)).ValidateOnStart();
        services.AddOptions<RetentionOptions>().Bind(config.GetSection(RetentionOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddSingleton<IValidateOptions<RulesOptions>, RulesOptionsValidator>();
        services.AddSingleton<IValidateOptions<HttpOptions>, GatewayOptionsValidator>();
        services.AddSingleton<IValidateOptions<HttpOptions>, HttpExposureValidator>();
        services.AddSingleton<IValidateOptions<MllpOptions>, MllpOptionsValidator>();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<IValidateOptions<StoreOptions>, StoreOptionsValidator>();
        services.AddSingleton<IValidateOptions<BlobOptions>, StoreOptionsValidator>();
        services.AddSingleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>();
        services.AddOptions<ProcessingOptions>().Bind(config.GetSection(ProcessingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProcessingOptions>, ProcessingOptionsValidator>();
        services.AddOptions<AccessOptions>().Bind(config.GetSection(AccessOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccessOptions>, AccessOptionsValidator>();

        services.AddHostedService<StartupAnnouncer>();
        // The store opens (and migrates) when the host starts, before any listener accepts input.
        services.AddSingleton<StoreLifetime>();
        services.AddSingleton(sp => sp.GetRequiredService<StoreLifetime>().Store);
        services.AddHostedService(sp => sp.GetRequiredService<StoreLifetime>());

        // Rules load at start, before the processing worker maps anything with them.
        services.AddSingleton<RuleSetReloader>();
        services.AddHostedService(sp => sp.GetRequiredService<RuleSetReloader>());

        // The dossier API: queries and rights over the opened store, one access policy for every endpoint.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new DossierQueries(sp.GetRequiredService<DmpStore>().Connections));
        services.AddSingleton(sp => new DossierRights(sp.GetRequiredService<DmpStore>().Writer, sp.GetRequiredService<DmpStore>().Connections, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<DossierGate>();

        services.AddSingleton<ProcessingSignal>();
        services.AddSingleton(sp => new ProcessingCompletions
        {
            Enabled = sp.GetRequiredService<IOptions<MllpOptions>>().Value.AckMode == AckMode.Processed,
            Time = sp.GetRequiredService<TimeProvider>(),
        });
        services.AddSingleton<ProcessedAcknowledger>();
        services.AddSingleton<InboundReceiver>();
        services.AddSingleton<MllpConnectionLimiter>();
        services.AddSingleton<SenderDirectory>();
        services.AddSingleton(sp => new ByteBudget(sp.GetRequiredService<IOptions<MllpOptions>>().Value.MaxInFlightBytes));
        services.AddSingleton<ProcessingWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ProcessingWorker>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<RetentionWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionWorker>());
        services.AddSingleton<ListenerEndpoints>();
        services.AddHostedService<ListenerAnnouncer>();

        // File sources (SFTP, drop folders): one Quartz poll job per `Dmp:Sftp:Sources:N`, into the same inbox.
        Sftp.FileSourceScheduling.AddFileSources(services, config);
        services.AddGatewayAlerts(config);

        GatewayAuthentication.Add(builder);
        // Metrics at /metrics and by OTLP (Dmp:Metrics:*, Dmp:Telemetry:*).
        services.AddGatewayMetrics(config);
        builder.AddOperatorConsole();

        services.AddRoutingCore();
        services.AddGatewayHealth(config);
        services.AddHostedService<MessageTraceIds>();
        // One registry of bulk replays for the API and the console (progress at /api/replays/{id} and on the messages page).
        services.AddSingleton<BulkReplays>();

        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseKestrelHttpsConfiguration();
        var mllp = config.GetSection(MllpOptions.Section).Get<MllpOptions>() ?? new MllpOptions();
        builder.WebHost.UseSockets(o => o.MaxReadBufferSize = mllp.MaxFrameBytes + 64 * 1024);
        builder.WebHost.ConfigureKestrel((ctx, kestrel) =>
        {
            var endpoints = kestrel.ApplicationServices.GetRequiredService<ListenerEndpoints>();
            var http = ctx.Configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions();
            kestrel.AddServerHeader = false;
            kestrel.Listen(Address(http.Host), Math.Clamp(http.Port, 0, 65535), listen =>
            {
                endpoints.Http = listen;
                if (http.TlsEnabled)
                    ConfigureHttpTls(listen, http.Tls);
            });
            if (mllp.Enabled)
            {
                kestrel.Listen(Address(mllp.Host), Math.Clamp(mllp.Port, 0, 65535), listen =>
                {
                    endpoints.Mllp = listen;
                    if (mllp.Tls.Enabled)
                        ConfigureTls(listen, mllp.Tls, mllp.Senders.SelectMany(s => s.Thumbprints));
                    listen.Protocols = HttpProtocols.None;
                    listen.UseConnectionHandler<MllpConnectionHandler>();
                });
            }
        });

        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseOperatorConsole();
        app.MapGatewayHealth();
        app.MapOperatorApi();
        app.MapRuleApi();
        app.MapDossierApi();
        app.MapGatewayAlerts();
        app.MapGatewayMetrics();
        app.MapOperatorConsole();
        return app;
    }

    /// <summary>
    /// A certificate file that is missing or cannot be opened is a missing service (exit 69); one that opens
    /// but holds no usable certificate is a wrong setting (exit 64). Either way one line with the setting and path.
    /// </summary>
    private static void ConfigureTls(ListenOptions listen, MllpTlsOptions tls, IEnumerable<string> senderThumbprints)
    {
        EnsureReadable(MllpOptions.Section + ":Tls", ("CertificatePath", tls.CertificatePath), ("KeyPath", tls.KeyPath), ("ClientCaPath", tls.ClientCaPath));
        try
        {
            MllpTls.Configure(listen, tls, senderThumbprints);
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException(e.Message, Cli.ExitCodes.Usage, e);
        }
    }

    /// <summary>HTTPS on the API port with `Dmp:Http:Tls:*`, the certificate loaded as MLLP's is (same exit codes).</summary>
    private static void ConfigureHttpTls(ListenOptions listen, HttpTlsOptions tls)
    {
        EnsureReadable(HttpTlsOptions.Section, ("CertificatePath", tls.CertificatePath), ("KeyPath", tls.KeyPath));
        try
        {
            var (certificate, chain) = MllpTls.LoadServerCertificate(tls.CertificatePath, tls.KeyPath, tls.Password, HttpTlsOptions.Section);
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = certificate,
                ServerCertificateChain = chain,
                HandshakeTimeout = TimeSpan.FromSeconds(10),
            });
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException(e.Message, Cli.ExitCodes.Usage, e);
        }
    }

    private static void EnsureReadable(string section, params (string Key, string? Path)[] files)
    {
        foreach (var (key, path) in files)
        {
            if (path is null)
                continue;
            try
            {
                using var _ = File.OpenRead(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                var reason = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e is UnauthorizedAccessException ? "permission denied" : e.Message;
                throw new StartupException($"{section}:{key} '{Path.GetFullPath(path)}': cannot read the certificate: {reason}", Cli.ExitCodes.Unavailable, e);
            }
        }
    }

    private static IPAddress Address(string host) =>
        host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(host, out var ip) ? ip : IPAddress.Loopback;
}
