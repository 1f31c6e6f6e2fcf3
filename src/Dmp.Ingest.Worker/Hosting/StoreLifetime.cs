using Dmp.Store;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>Opens the store (migrations included) when the host starts, and closes it last.</summary>
public sealed class StoreLifetime(IOptions<StoreOptions> store, IOptions<BlobOptions> blobs, IOptions<GatewayOptions> gateway, ILogger<StoreLifetime> logger) : IHostedService, IAsyncDisposable
{
    private DmpStore? _store;

    public DmpStore Store => _store ?? throw new InvalidOperationException("the store is not open yet");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _store = await DmpStore.OpenAsync(store.Value, blobs.Value, gateway.Value.DataDirFullPath, cancellationToken);
        logger.LogInformation("Store {Provider} open in {DataDir}; migrations applied: {Applied}", store.Value.Provider, gateway.Value.DataDirFullPath,
            _store.AppliedMigrations.Count == 0 ? "none (schema current)" : string.Join(", ", _store.AppliedMigrations));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

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

/// <summary>Ready when the store answers a query.</summary>
public sealed class StoreHealthCheck(StoreLifetime storeLifetime) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await storeLifetime.Store.Connections.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("store unavailable: " + e.GetType().Name);
        }
    }
}
