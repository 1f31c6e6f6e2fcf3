using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dmp.Store;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>What `/health/ready` requires besides a working store and blob store (`Dmp:Health:*`).</summary>
public sealed class HealthOptions
{
    public const string Section = "Dmp:Health";

    /// <summary>Not ready when the disk holding the data folder has less free space than this (MB); 0 turns the check off.</summary>
    public int MinFreeDiskMb { get; set; } = 512;
}

/// <summary>One line naming the key when a health setting is wrong.</summary>
public sealed class HealthOptionsValidator : IValidateOptions<HealthOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthOptions options) =>
        options.MinFreeDiskMb < 0
            ? ValidateOptionsResult.Fail($"Dmp:Health:MinFreeDiskMb is {options.MinFreeDiskMb}: use a number of megabytes, e.g. --Dmp:Health:MinFreeDiskMb=512, or 0 to turn the check off")
            : ValidateOptionsResult.Success;
}

/// <summary>
/// `/health/ready`: ready only when the data folder can be written, the store really commits, the blob store really
/// writes, and the data folder's disk has room. `/health/live` stays a bare "the process answers".
/// </summary>
public static class GatewayHealth
{
    /// <summary>How long a probe may take before it counts as failed (a store locked by someone else, a hung mount).</summary>
    internal static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public static IServiceCollection AddGatewayHealth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HealthOptions>().Bind(configuration.GetSection(HealthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HealthOptions>, HealthOptionsValidator>();
        services.AddHealthChecks()
            .AddCheck<DataDirHealthCheck>("data-dir", tags: ["ready"])
            .AddCheck<StoreCommitHealthCheck>("store", tags: ["ready"])
            .AddCheck<BlobWriteHealthCheck>("blobs", tags: ["ready"])
            .AddCheck<DiskSpaceHealthCheck>("disk", tags: ["ready"]);
        return services;
    }

    public static WebApplication MapGatewayHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteAsync })
            .AllowAnonymous();
        return app;
    }

    /// <summary>
    /// `{"status":"Unhealthy","checks":[{"name":"store","status":"Unhealthy","reason":"…","durationMs":5002}, …]}`: every
    /// check with its status, and for a failed one the reason (the setting or component, never data).
    /// </summary>
    internal static async Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(http.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", Status(report.Status));
        json.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", Status(entry.Status));
            if (entry.Description is { } reason)
                json.WriteString("reason", reason);
            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>`Healthy`, `Degraded` or `Unhealthy`: the words the plain-text answer used before the body was JSON.</summary>
    private static string Status(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "Healthy",
        HealthStatus.Degraded => "Degraded",
        _ => "Unhealthy",
    };
}

/// <summary>
/// The store can commit: one row of `health_probe` is updated in the inbox writer's next grouped transaction — the very
/// path every inbound frame takes — and the check passes only once that transaction is committed.
/// </summary>
public sealed class StoreCommitHealthCheck(StoreLifetime storeLifetime, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(GatewayHealth.ProbeTimeout);
        try
        {
            await storeLifetime.Store.Writer.ProbeCommitAsync(time.GetUtcNow(), timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture,
                $"the store did not commit within {GatewayHealth.ProbeTimeout.TotalSeconds:0} s (locked by another process, or unreachable)"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"the store cannot commit ({Reason(e)})");
        }
    }

    private static string Reason(Exception e) => e switch
    {
        InvalidOperationException { Message: var m } when m.StartsWith("the health_probe", StringComparison.Ordinal) => m,
        DbException db => db.GetType().Name + (db.SqlState is { } state ? " " + state : ""),
        _ => e.GetType().Name,
    };
}

/// <summary>The blob store can write: a small probe blob is written (durably, as a document body is) and deleted.</summary>
public sealed class BlobWriteHealthCheck(StoreLifetime storeLifetime) : IHealthCheck
{
    /// <summary>The probe's bytes: fixed, so a probe left by a crash is the same one blob.</summary>
    private static readonly ReadOnlyMemory<byte> Probe = "dmp-ingest readiness probe\n"u8.ToArray();

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(GatewayHealth.ProbeTimeout);
        var blobs = storeLifetime.Store.Blobs;
        try
        {
            var key = await blobs.PutAsync(Probe, timeout.Token);
            // False when a concurrent probe deleted it first: the write itself succeeded.
            await blobs.DeleteAsync(key, timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture,
                $"the blob store did not write within {GatewayHealth.ProbeTimeout.TotalSeconds:0} s (Dmp:Blobs)"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"the blob store cannot write ({e.GetType().Name}; Dmp:Blobs)");
        }
    }
}

/// <summary>Free space on the disk holding the data folder, against `Dmp:Health:MinFreeDiskMb` (0: not checked).</summary>
public sealed class DiskSpaceHealthCheck(IOptions<GatewayOptions> gateway, IOptions<HealthOptions> health) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var minimum = health.Value.MinFreeDiskMb;
        if (minimum == 0)
            return Task.FromResult(HealthCheckResult.Healthy("not checked (Dmp:Health:MinFreeDiskMb=0)"));
        long freeMb;
        try
        {
            freeMb = new DriveInfo(gateway.Value.DataDirFullPath).AvailableFreeSpace / (1024 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"the free space under the data folder cannot be read ({e.GetType().Name}; Dmp:DataDir)"));
        }
        return Task.FromResult(freeMb < minimum
            ? HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture,
                $"{freeMb} MB free under the data folder, below Dmp:Health:MinFreeDiskMb ({minimum} MB)"))
            : HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"{freeMb} MB free")));
    }
}
