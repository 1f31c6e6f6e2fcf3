using Dmp.Store;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Quartz;

namespace Dmp.Ingest.Worker.Sftp;

/// <summary>
/// One poll of one source; Quartz never runs two at once for the same source (on PostgreSQL, across
/// every gateway instance of the cluster).
/// </summary>
[DisallowConcurrentExecution]
public sealed class FilePollJob(FilePoller poller, ILogger<FilePollJob> logger) : IJob
{
    public const string SourceKey = "source";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var source = context.MergedJobDataMap.GetString(SourceKey)!;
        if (!poller.Sources.Any(s => s.Name == source))
        {
            // A clustered job store keeps the jobs of every instance: one configured on another instance
            // (or removed from the configuration since) may fire here. Polled where it is configured.
            logger.LogWarning("File source {Source} is scheduled in the Quartz cluster but not configured on this instance: poll skipped", source);
            return;
        }
        await poller.PollOnceAsync(source, cancellationToken);
    }
}

/// <summary>Registers the file sources (`Dmp:Sftp:Sources:N:*`): options, the poller, and one Quartz job per source.</summary>
public static class FileSourceScheduling
{
    public static void AddFileSources(IServiceCollection services, IConfiguration config)
    {
        services.AddOptions<SftpOptions>().Bind(config.GetSection(SftpOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SftpOptions>, SftpOptionsValidator>();
        services.TryAddSingleton<IFileSourceFactory, FileSourceFactory>();
        services.AddSingleton<FileOutcomeWatch>();
        services.AddSingleton<FilePoller>();

        var sources = config.GetSection(SftpOptions.Section).Get<SftpOptions>()?.Sources ?? [];
        if (sources.Count == 0)
            return;
        var store = config.GetSection(StoreOptions.Section).Get<StoreOptions>() ?? new StoreOptions();
        services.AddQuartz(q =>
        {
            UseJobStore(q, store);
            foreach (var source in sources.Where(s => !string.IsNullOrWhiteSpace(s.Name)).DistinctBy(s => s.Name))
            {
                var job = new JobKey("poll:" + source.Name, "file-sources");
                q.ScheduleJob<FilePollJob>(
                    trigger =>
                    {
                        trigger.WithIdentity("poll:" + source.Name, "file-sources");
                        if (source.Schedule is { Length: > 0 } && CronExpression.TryParse(source.Schedule, out _))
                        {
                            trigger.WithCronSchedule(source.Schedule);
                        }
                        else
                        {
                            var every = TimeSpan.FromSeconds(Math.Max(1, source.PollSeconds));
                            trigger.StartAt(DateTimeOffset.UtcNow + every).WithSimpleSchedule(s => s.WithInterval(every).RepeatForever());
                        }
                    },
                    j => j.WithIdentity(job).UsingJobData(FilePollJob.SourceKey, source.Name));
            }
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
    }

    /// <summary>The Quartz cluster of every gateway on one PostgreSQL or SQL Server database (its scheduler name in the qrtz_ tables).</summary>
    public const string ClusterName = "dmp-file-sources";

    /// <summary>
    /// Where the poll schedule lives. On PostgreSQL: Quartz's ADO.NET job store in the gateway's own
    /// database (tables from migration 0005), clustered, so that each source is polled by one instance
    /// at a time and a dead instance's polls move to the others. On SQLite (one process): the RAM store.
    /// </summary>
    public static void UseJobStore(IQuartzBuilder q, StoreOptions store)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(store);
        if (store.Provider is StoreProvider.Postgres or StoreProvider.SqlServer && !string.IsNullOrWhiteSpace(store.ConnectionString))
        {
            q.ConfigureScheduler(o => o.InstanceName = ClusterName);
            q.UsePersistentStore(s =>
            {
                // SQL Server: Quartz's SQL Server delegate over SqlClient, on the QRTZ_ tables of the SqlServer migration 0005.
                if (store.Provider == StoreProvider.SqlServer)
                    s.UseSqlServer(Microsoft.Data.SqlClient.SqlClientFactory.Instance, store.ConnectionString);
                else
                    s.UsePostgres(store.ConnectionString);
                s.UseSystemTextJsonSerializer();
                // The schema is the store's migration, not Quartz's to create: Quartz only checks it.
                s.ConfigureStore(o =>
                {
                    o.StoreJobDataAsStrings = true;
                    o.SchemaProvisioning = SchemaProvisioning.Validate;
                });
                s.UseClustering(c =>
                {
                    c.CheckinInterval = TimeSpan.FromSeconds(5);
                    c.CheckinMisfireThreshold = TimeSpan.FromSeconds(20);
                });
            });
            return;
        }

        // The RAM store; a unique name so that several gateways in one process (tests) do not share a scheduler.
        q.ConfigureScheduler(o => o.InstanceName = "dmp-file-sources-" + Guid.NewGuid().ToString("N")[..8]);
        q.UseInMemoryStore();
    }
}
