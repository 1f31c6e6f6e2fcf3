using Dmp.Ingest.Worker.Hosting;
using Dmp.Store.Retention;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Retention;

/// <summary>
/// Runs the inbox retention (`Dmp:Retention:*`) at start and then every interval, when
/// <see cref="RetentionOptions.RawDays"/> is above 0. Logs counts only, never which messages.
/// </summary>
public sealed class RetentionWorker(StoreLifetime storeLifetime, IOptions<RetentionOptions> options, TimeProvider time, ILogger<RetentionWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Hosted services start in order: the store holder before this worker.
        await Task.Yield();
        var settings = options.Value;
        if (settings.RawDays == 0)
        {
            logger.LogInformation("Retention off (Dmp:Retention:RawDays=0): raw message bytes are kept for ever");
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(settings.IntervalMinutes), time);
        try
        {
            do
            {
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Broken storage: nothing is lost, the next run purges what this one could not.
                    logger.LogError("Retention run failed ({Error}); next run in {Minutes} min", e.GetType().Name, settings.IntervalMinutes);
                    logger.LogDebug(e, "Retention run failed");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One retention run: purges raw bytes of finished messages older than RawDays.</summary>
    public async Task<RetentionResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var cutoff = time.GetUtcNow() - TimeSpan.FromDays(settings.RawDays);
        var result = await storeLifetime.Store.Retention.PurgeAsync(cutoff, settings.BatchSize, cancellationToken);
        if (result.MessagesPurged > 0)
        {
            logger.LogInformation(
                "Retention: raw bytes of {Messages} processed/ignored message(s) older than {Days} day(s) purged; {BlobsDeleted} blob(s) deleted, {BlobsKept} kept (still referenced); database {Bytes} bytes smaller{Rebuilt}",
                result.MessagesPurged, settings.RawDays, result.BlobsDeleted, result.BlobsKept, result.DatabaseBytesReleased,
                result.DatabaseRebuilt ? " (rebuilt once to turn incremental vacuum on)" : "");
        }
        else
        {
            logger.LogDebug("Retention: nothing older than {Days} day(s) to purge", settings.RawDays);
        }
        return result;
    }
}

/// <summary>Validates `Dmp:Retention:*` at start, with the options' own messages.</summary>
public sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var failures = options.Validate();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
