using System.Net;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Store;
using Dmp.Store.Inbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>The whole gateway in-process on free loopback ports with its own data folder.</summary>
internal sealed class InteropGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly DirectoryInfo _dataDir;

    private InteropGateway(WebApplication app, DirectoryInfo dataDir)
    {
        _app = app;
        _dataDir = dataDir;
    }

    public IPEndPoint MllpEndPoint => _app.Services.GetRequiredService<ListenerEndpoints>().MllpEndPoint!;
    public int MllpPort => MllpEndPoint.Port;
    public DmpStore Store => _app.Services.GetRequiredService<DmpStore>();

    public static async Task<InteropGateway> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, int mllpPort = 0)
    {
        var dataDir = Directory.CreateTempSubdirectory("dmp-interop-");
        var overrides = new Dictionary<string, string?>
        {
            ["Dmp:Http:Port"] = "0",
            ["Dmp:Mllp:Port"] = mllpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Dmp:DataDir"] = dataDir.FullName,
            // DMP_TEST_LOG_LEVEL=Debug shows the gateway's own account when a test needs explaining.
            ["Logging:LogLevel:Default"] = Environment.GetEnvironmentVariable("DMP_TEST_LOG_LEVEL") ?? "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = Environment.GetEnvironmentVariable("DMP_TEST_LOG_LEVEL") ?? "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            overrides[key] = value;
        var app = GatewayHost.Build(overrides);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await app.StartAsync(cts.Token);
        }
        catch
        {
            await app.DisposeAsync();
            dataDir.Delete(recursive: true);
            throw;
        }
        return new InteropGateway(app, dataDir);
    }

    /// <summary>Every stored inbound message with this control id (newest first).</summary>
    public async Task<IReadOnlyList<InboundMessageSummary>> FindAsync(string controlId)
    {
        var page = await Store.Queries.ListAsync(new InboxFilter { ControlId = controlId }, 100, null, CancellationToken.None);
        return page.Items;
    }

    public async Task<IReadOnlyList<InboundMessageSummary>> AllAsync()
    {
        var page = await Store.Queries.ListAsync(new InboxFilter(), 1000, null, CancellationToken.None);
        return page.Items;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _app.StopAsync(cts.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            try
            {
                _dataDir.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp folder.
            }
        }
    }
}
