using Dmp.Store.Sql;
using Microsoft.Data.SqlClient;
using Xunit.Abstractions;

namespace Dmp.Store.Tests.SqlServer;

// The shared provider suites (the ones SQLite and PostgreSQL run) against a real SQL Server named by DMP_TEST_SQLSERVER.
// Each class carries Provider=SqlServer: the default run leaves them out by that trait, `./test.sh --sqlserver` runs only
// them. Not here: EntryPublicIdMigrationTests (it rewrites rows stored before 0011; no SQL Server store predates 0011,
// so the T-SQL 0011 has no rewrite) and MigrationPathTests (its schema listing and earlier-version rows are written per
// provider; the T-SQL path is one fresh run, which every suite below starts with).

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerDialectTests(SqlServerDatabase server) : SqlDialectTests
{
    private protected override string CreateTable =>
        "CREATE TABLE dialect_probe (id INT PRIMARY KEY, name NVARCHAR(100) NOT NULL, size INT NOT NULL, CONSTRAINT ux_dialect_probe_name UNIQUE (name));";

    private protected override async Task<TestStore> OpenStoreAsync() =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync());
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerAuditChainTests(SqlServerDatabase server) : AuditChainTests
{
    private protected override async Task<TestStore> OpenStoreAsync() =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync());
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerDossierApplyTests(SqlServerDatabase server) : DossierApplyTests
{
    private protected override async Task<TestStore> OpenStoreAsync() =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync());
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerDossierQueriesTests(SqlServerDatabase server) : DossierQueriesTests
{
    private protected override async Task<TestStore> OpenStoreAsync() =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync());
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerGroupCommitWriterTests(SqlServerDatabase server, ITestOutputHelper output) : GroupCommitWriterTests(output)
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync(), configure);

    private protected override string ExpectedDurability => "read_committed_snapshot=on;delayed_durability=DISABLED";

    private protected override async Task<System.Data.Common.DbConnection> OpenIndependentConnectionAsync(TestStore store)
    {
        var connection = new SqlConnection(new SqlConnectionStringBuilder(store.Options.ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerInboxProcessingTests(SqlServerDatabase server) : InboxProcessingTests
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync(), configure);
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerInboxQueriesTests(SqlServerDatabase server) : InboxQueriesTests
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync(), configure);
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerInboxRetentionTests(SqlServerDatabase server) : InboxRetentionTests
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync(), configure);
}

[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerMergeChainTests(SqlServerDatabase server) : MergeChainTests
{
    private protected override async Task<TestStore> OpenStoreAsync() =>
        await TestStore.OpenAsync(StoreProvider.SqlServer, await server.CreateDatabaseAsync());
}

/// <summary>Migrations on SQL Server: twice and from two instances at once, the second finds them applied.</summary>
[Trait("Tier", "Slow")]
[Trait(SqlServerCollection.Trait, SqlServerCollection.TraitValue)]
[Collection(SqlServerCollection.Name)]
public sealed class SqlServerMigrationRunnerTests(SqlServerDatabase server)
{
    [Fact]
    public async Task Two_instances_migrating_at_once_apply_each_script_once()
    {
        using var folder = new TempFolder();
        var options = new StoreOptions { Provider = StoreProvider.SqlServer, ConnectionString = await server.CreateDatabaseAsync() };
        var first = new MigrationRunner(SqlDialect.Create(options, folder.Path));
        var second = new MigrationRunner(SqlDialect.Create(options, folder.Path));

        var applied = await Task.WhenAll(first.ApplyAsync(CancellationToken.None), second.ApplyAsync(CancellationToken.None));

        Assert.Equal(first.Migrations.Select(m => m.Version), applied[0].Concat(applied[1]).Order());
        Assert.Empty(await first.ApplyAsync(CancellationToken.None));
    }
}
