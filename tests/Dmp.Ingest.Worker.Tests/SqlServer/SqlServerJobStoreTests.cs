using Dmp.Ingest.Worker.Sftp;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace Dmp.Ingest.Worker.Tests.SqlServer;

/// <summary>
/// On SQL Server the file-source polls use Quartz's ADO.NET job store through SqlClient, as on PostgreSQL with Npgsql.
/// No server here: building the scheduler validates the QRTZ_ schema, so it reaches SqlClient and stops there.
/// </summary>
public sealed class SqlServerJobStoreTests
{
    [Fact]
    public async Task SqlServer_polls_are_scheduled_by_Quartz_SQL_Server_job_store_over_SqlClient()
    {
        var store = new StoreOptions
        {
            Provider = StoreProvider.SqlServer,
            ConnectionString = "Server=127.0.0.1,1;Database=dmp;User ID=dmp;Password=unused;Encrypt=False;Connect Timeout=1",
        };
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQuartz(q => FileSourceScheduling.UseJobStore(q, store));
        await using var provider = services.BuildServiceProvider();

        var error = await Assert.ThrowsAsync<SchedulerException>(async () => await provider.GetRequiredService<ISchedulerFactory>().GetScheduler());

        // The persistent store (not the RAM one), on the QRTZ_ tables of migration 0005, in Quartz's SQL Server dialect …
        Assert.Contains("table prefix 'QRTZ_'", error.Message, StringComparison.Ordinal);
        Assert.Contains("sqlServer", error.Message, StringComparison.Ordinal);
        // … reached through Microsoft.Data.SqlClient on the store's connection string.
        var inner = error.InnerException;
        while (inner is not null and not Microsoft.Data.SqlClient.SqlException)
            inner = inner.InnerException;
        Assert.NotNull(inner);
    }
}
