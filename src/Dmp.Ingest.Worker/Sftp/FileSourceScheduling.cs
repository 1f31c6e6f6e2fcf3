using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Quartz;

namespace Dmp.Ingest.Worker.Sftp;

/// <summary>One poll of one source; Quartz never runs two at once for the same source.</summary>
[DisallowConcurrentExecution]
public sealed class FilePollJob(FilePoller poller) : IJob
{
    public const string SourceKey = "source";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var source = context.MergedJobDataMap.GetString(SourceKey)!;
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
        services.AddSingleton<FilePoller>();

        var sources = config.GetSection(SftpOptions.Section).Get<SftpOptions>()?.Sources ?? [];
        if (sources.Count == 0)
            return;
        services.AddQuartz(q =>
        {
            // The RAM store; a unique name so that several gateways in one process (tests) do not share a scheduler.
            q.ConfigureScheduler(o => o.InstanceName = "dmp-file-sources-" + Guid.NewGuid().ToString("N")[..8]);
            q.UseInMemoryStore();
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
}
