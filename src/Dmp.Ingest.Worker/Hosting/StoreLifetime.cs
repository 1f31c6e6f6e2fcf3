using Dmp.Store;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>Opens the store (migrations included) when the host starts, and closes it last.</summary>
public sealed class StoreLifetime(IOptions<StoreOptions> store, IOptions<BlobOptions> blobs, IOptions<GatewayOptions> gateway, TimeProvider time, ILogger<StoreLifetime> logger) : IHostedService, IAsyncDisposable
{
    private DmpStore? _store;

    public DmpStore Store => _store ?? throw new InvalidOperationException("the store is not open yet");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var dataDir = gateway.Value.DataDirFullPath;
        var existed = Directory.Exists(dataDir);
        try
        {
            _store = await DmpStore.OpenAsync(store.Value, blobs.Value, gateway.Value.DataDirFullPath, time, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or System.Net.Sockets.SocketException or IOException or TimeoutException or UnauthorizedAccessException
                                  || e.GetType().Namespace?.StartsWith("Azure", StringComparison.Ordinal) == true)
        {
            throw new StartupException($"cannot open the {store.Value.Provider} store at {Where()}: {Reason(e)}; check that it runs and that {StoreOptions.Section}:ConnectionString points at it", Cli.ExitCodes.Unavailable, e);
        }
        WarnIfOpenToOthers(dataDir, existed);
        logger.LogInformation("Store {Provider} open in {DataDir}; migrations applied: {Applied}", store.Value.Provider, gateway.Value.DataDirFullPath,
            _store.AppliedMigrations.Count == 0 ? "none (schema current)" : string.Join(", ", _store.AppliedMigrations));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A data folder the gateway found (not created) keeps its mode; one that its group or others may open gets one warning.</summary>
    private void WarnIfOpenToOthers(string dataDir, bool existed)
    {
        if (!existed || OperatingSystem.IsWindows() || !PrivateFiles.OpenToOthers(dataDir))
            return;
        var mode = Convert.ToString((int)File.GetUnixFileMode(dataDir), 8);
        logger.LogWarning(new EventId(901, "DataDirOpen"), "Data folder {DataDir} is mode {Mode}: its group or others may read the database and documents; chmod 700 it (the gateway creates its folders 0700 and leaves an existing one as it is)",
            dataDir, mode);
    }

    /// <summary>The store's address without its secrets: host, port and database, or the SQLite file.</summary>
    private string Where()
    {
        var connection = store.Value.ResolveConnectionString(gateway.Value.DataDirFullPath);
        try
        {
            var parts = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connection };
            string? Part(string key) => parts.TryGetValue(key, out var v) ? v?.ToString() : null;
            if (store.Value.Provider == StoreProvider.SqlServer)
                return SqlServerWhere(Part("Server") ?? Part("Data Source") ?? Part("Address") ?? Part("Addr") ?? "localhost",
                    Part("Database") ?? Part("Initial Catalog"));
            if ((Part("Data Source") ?? Part("DataSource") ?? Part("Filename")) is { } file)
                return Path.GetFullPath(file);
            var host = Part("Host") ?? Part("Server") ?? "localhost";
            var port = Part("Port") ?? "5432";
            return $"{host}:{port}/{Part("Database") ?? "(default database)"}";
        }
        catch (ArgumentException)
        {
            return "the configured connection string";
        }
    }

    /// <summary>SQL Server's <c>Server=[tcp:]host[\instance][,port]</c> as host:port/database (1433 when no port is given).</summary>
    private static string SqlServerWhere(string server, string? database)
    {
        var address = server.StartsWith("tcp:", StringComparison.OrdinalIgnoreCase) ? server[4..] : server;
        var comma = address.LastIndexOf(',');
        var (host, port) = comma < 0 ? (address, "1433") : (address[..comma], address[(comma + 1)..]);
        return $"{host.Trim()}:{port.Trim()}/{database ?? "(default database)"}";
    }

    private static string Reason(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null && inner.Message.Length == 0)
            inner = inner.InnerException;
        var message = inner.Message.ReplaceLineEndings(" ").TrimEnd('.');
        // SqlClient's managed network layer wraps a socket error it lost as SocketException "Success": it says nothing.
        return inner.InnerException is { } cause && !message.Contains(cause.Message, StringComparison.Ordinal)
               && cause is not System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.Success }
            ? $"{message} ({cause.Message.ReplaceLineEndings(" ").TrimEnd('.')})"
            : message;
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
            await _store.DisposeAsync();
    }
}

/// <summary>Validates the store and blob settings at start, with the store's own messages.</summary>
public sealed class StoreOptionsValidator : IValidateOptions<StoreOptions>, IValidateOptions<BlobOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreOptions options) => From(options.Validate());
    public ValidateOptionsResult Validate(string? name, BlobOptions options) => From(options.Validate());

    private static ValidateOptionsResult From(IReadOnlyList<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}
