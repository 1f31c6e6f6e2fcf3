using Dapper;
using Dmp.Ingest.Worker.Sftp;
using Dmp.Store;
using Dmp.Store.Tests;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Quartz;

namespace Dmp.Ingest.Worker.Tests.Postgres;

/// <summary>The file sources' Quartz store on PostgreSQL: one cluster per database, one poll of a source at a time.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class QuartzClusterTests(PostgresServer server)
{
    [Fact]
    public async Task Two_schedulers_on_one_database_never_run_one_job_at_once()
    {
        var connectionString = await server.CreateDatabaseAsync();
        var dataDir = Directory.CreateTempSubdirectory("dmp-quartz-");
        var store = new StoreOptions { Provider = StoreProvider.Postgres, ConnectionString = connectionString };
        try
        {
            // The store's migrations create Quartz's tables (0005_quartz.sql).
            await (await DmpStore.OpenAsync(store, new BlobOptions(), dataDir.FullName, CancellationToken.None)).DisposeAsync();
            var runs = new ProbeRuns();
            await using var a = await StartSchedulerAsync(store, runs);
            await using var b = await StartSchedulerAsync(store, runs);

            // Wait for the behaviour, not for a time: both nodes in the cluster and enough runs to overlap if they could.
            // The bound is generous because the machine running the tests may be busy; a passing run returns in seconds.
            var nodes = 0L;
            var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(90);
            while ((nodes < 2 || runs.All.Count < 6) && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                await using var connection = new NpgsqlConnection(connectionString);
                nodes = await connection.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM qrtz_scheduler_state WHERE sched_name = @Name", new { Name = FileSourceScheduling.ClusterName });
            }
            Assert.Equal(2L, nodes);
            await a.Scheduler.Shutdown(waitForJobsToComplete: true);
            await b.Scheduler.Shutdown(waitForJobsToComplete: true);

            var all = runs.All.OrderBy(r => r.Start).ToList();
            Assert.True(all.Count >= 6, $"the job ran {all.Count} times in 90 s");
            for (var i = 1; i < all.Count; i++)
                Assert.True(all[i].Start >= all[i - 1].End,
                    $"run {i} on {all[i].Node} started at {all[i].Start:O} while run {i - 1} on {all[i - 1].Node} ran until {all[i - 1].End:O}");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            dataDir.Delete(recursive: true);
        }
    }

    private static async Task<RunningScheduler> StartSchedulerAsync(StoreOptions store, ProbeRuns runs)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(runs);
        services.AddQuartz(q =>
        {
            FileSourceScheduling.UseJobStore(q, store);
            q.ScheduleJob<ProbeJob>(
                trigger => trigger.WithIdentity("poll:probe", "file-sources").StartNow()
                    .WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromMilliseconds(100)).RepeatForever()),
                job => job.WithIdentity("poll:probe", "file-sources"));
        });
        var provider = services.BuildServiceProvider();
        var scheduler = await provider.GetRequiredService<ISchedulerFactory>().GetScheduler();
        await scheduler.Start();
        return new RunningScheduler(provider, scheduler);
    }

    private sealed record RunningScheduler(ServiceProvider Provider, IScheduler Scheduler) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Scheduler.Shutdown(waitForJobsToComplete: true); // again after the test's own: a no-op
            await Provider.DisposeAsync();
        }
    }

    internal sealed class ProbeRuns
    {
        private readonly List<(string Node, DateTimeOffset Start, DateTimeOffset End)> _runs = [];

        public void Add(string node, DateTimeOffset start, DateTimeOffset end)
        {
            lock (_runs)
                _runs.Add((node, start, end));
        }

        public IReadOnlyList<(string Node, DateTimeOffset Start, DateTimeOffset End)> All
        {
            get
            {
                lock (_runs)
                    return [.. _runs];
            }
        }
    }

    /// <summary>As FilePollJob: not concurrent with itself, and slower than its trigger's interval.</summary>
    [DisallowConcurrentExecution]
    internal sealed class ProbeJob(ProbeRuns runs) : IJob
    {
        public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
        {
            var start = DateTimeOffset.UtcNow;
            await Task.Delay(250, CancellationToken.None);
            runs.Add(context.Scheduler.SchedulerInstanceId, start, DateTimeOffset.UtcNow);
        }
    }
}
