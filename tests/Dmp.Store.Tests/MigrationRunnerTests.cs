using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Tests;

public sealed class MigrationRunnerTests
{
    private static SqlDialect Sqlite(TempFolder folder) =>
        SqlDialect.Create(new StoreOptions(), folder.Path);

    [Fact]
    public async Task Migrations_apply_from_an_empty_database_and_are_recorded_in_schema_version()
    {
        using var folder = new TempFolder();
        var connections = Sqlite(folder);
        var runner = new MigrationRunner(connections);

        var applied = await runner.ApplyAsync(CancellationToken.None);

        Assert.NotEmpty(runner.Migrations);
        Assert.Equal(runner.Migrations.Select(m => m.Version), applied);
        await using var connection = await connections.OpenAsync(CancellationToken.None);
        var versions = (await connection.QueryAsync<(long Version, string Name, string AppliedAt)>(
            "SELECT version, name, applied_at FROM schema_version ORDER BY version")).ToList();
        Assert.Equal(runner.Migrations.Select(m => (long)m.Version), versions.Select(v => v.Version));
        Assert.Equal("inbox", versions[0].Name);
        Assert.All(versions, v => Assert.False(string.IsNullOrEmpty(v.AppliedAt)));
        var tables = (await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table'")).ToList();
        Assert.Contains("inbound_message", tables);
        Assert.Contains("inbound_message_history", tables);
    }

    [Fact]
    public async Task A_database_at_version_1_migrates_to_version_2_keeping_its_messages()
    {
        using var folder = new TempFolder();
        await HeldDocumentMigration.AssertVersion1MigratesTo2Async(Sqlite(folder));
    }

    [Fact]
    public async Task Running_migrations_again_applies_nothing()
    {
        using var folder = new TempFolder();
        var connections = Sqlite(folder);

        await new MigrationRunner(connections).ApplyAsync(CancellationToken.None);
        var second = await new MigrationRunner(connections).ApplyAsync(CancellationToken.None);

        Assert.Empty(second);
        await using var connection = await connections.OpenAsync(CancellationToken.None);
        Assert.Equal(
            new MigrationRunner(connections).Migrations.Count,
            await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_version"));
    }

    [Fact]
    public async Task Two_runners_in_parallel_on_one_file_apply_each_script_once()
    {
        using var folder = new TempFolder();
        var a = new MigrationRunner(Sqlite(folder));
        var b = new MigrationRunner(Sqlite(folder));

        var results = await Task.WhenAll(
            Task.Run(() => a.ApplyAsync(CancellationToken.None)),
            Task.Run(() => b.ApplyAsync(CancellationToken.None)));

        Assert.Equal(a.Migrations.Select(m => m.Version), results.SelectMany(r => r).Order());
        await using var connection = await Sqlite(folder).OpenAsync(CancellationToken.None);
        Assert.Equal(a.Migrations.Count, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_version"));
    }

    [Fact]
    public async Task Opening_the_store_creates_a_missing_data_folder()
    {
        using var folder = new TempFolder();
        var dataDir = Path.Combine(folder.Path, "not", "yet", "there");

        await using (await DmpStore.OpenAsync(new StoreOptions(), new BlobOptions(), dataDir, CancellationToken.None))
        {
        }

        Assert.True(File.Exists(Path.Combine(dataDir, "dmp.db")));
        Assert.True(Directory.Exists(Path.Combine(dataDir, "blobs")));
    }

    [Fact]
    public async Task Connections_are_durable_wal_with_foreign_keys()
    {
        using var folder = new TempFolder();
        await using var connection = await Sqlite(folder).OpenAsync(CancellationToken.None);

        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
        Assert.Equal(2L, await connection.ExecuteScalarAsync<long>("PRAGMA synchronous"));
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("PRAGMA foreign_keys"));
        Assert.Equal(10000L, await connection.ExecuteScalarAsync<long>("PRAGMA busy_timeout"));
    }

    [Fact]
    public async Task A_pooled_connection_opened_again_keeps_its_durability_settings()
    {
        using var folder = new TempFolder();
        var connections = Sqlite(folder);
        await (await connections.OpenAsync(CancellationToken.None)).DisposeAsync();

        // The session PRAGMAs run once per native connection: the pooled one must come back with them.
        await using var again = await connections.OpenAsync(CancellationToken.None);

        Assert.Equal(2L, await again.ExecuteScalarAsync<long>("PRAGMA synchronous"));
        Assert.Equal(1L, await again.ExecuteScalarAsync<long>("PRAGMA foreign_keys"));
        Assert.Equal(10000L, await again.ExecuteScalarAsync<long>("PRAGMA busy_timeout"));
    }
}

/// <summary>The step from version 1 (inbox) to 2 (held documents), on both dialects.</summary>
internal static class HeldDocumentMigration
{
    public static async Task AssertVersion1MigratesTo2Async(SqlDialect connections)
    {
        var runner = new MigrationRunner(connections);
        var v1 = runner.Migrations.Single(m => m.Version == 1);
        var v2 = runner.Migrations.Single(m => m.Version == 2);
        Assert.Equal("held_documents", v2.Name);
        long messageId;
        await using (var connection = await connections.OpenAsync(CancellationToken.None))
        {
            // A database as version 1 left it, with a held message in it.
            await connection.ExecuteAsync(connections.CreateSchemaVersionTableSql);
            await connection.ExecuteAsync(v1.Sql);
            // An untyped literal: version 1's PostgreSQL columns are TIMESTAMPTZ, which refuse a text parameter.
            const string At = "'2026-01-02T03:04:05.0000000Z'";
            await connection.ExecuteAsync(
                $"INSERT INTO schema_version (version, name, applied_at) VALUES (1, 'inbox', {At});");
            messageId = await connection.ExecuteScalarAsync<long>(
                $"""
                INSERT INTO inbound_message (channel, sender, sha256, length, raw, status, received_at, last_received_at)
                VALUES ('drop', 'drop', @Sha, 1, @Raw, 'held', {At}, {At}) RETURNING id;
                """,
                new { Sha = new byte[32], Raw = new byte[] { 1 } });
        }

        var applied = await runner.ApplyAsync(CancellationToken.None);

        Assert.Equal(runner.Migrations.Where(m => m.Version > 1).Select(m => m.Version), applied);
        Assert.Equal(2, applied[0]);
        await using (var connection = await connections.OpenAsync(CancellationToken.None))
        {
            Assert.Equal(
                runner.Migrations.Select(m => (long)m.Version),
                await connection.QueryAsync<long>("SELECT version FROM schema_version ORDER BY version;"));
            Assert.Equal("held", await connection.ExecuteScalarAsync<string>(
                "SELECT status FROM inbound_message WHERE id = @Id;", new { Id = messageId }));
            await connection.ExecuteAsync(
                "INSERT INTO held_document (message_id, document_key) VALUES (@Id, 'uid:s|1'), (@Id, 'set:s|1');", new { Id = messageId });
            Assert.Equal(messageId, await connection.ExecuteScalarAsync<long>(
                "SELECT message_id FROM held_document WHERE document_key = 'set:s|1';"));
            await connection.ExecuteAsync("DELETE FROM inbound_message WHERE id = @Id;", new { Id = messageId });
            Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM held_document;"));
        }

        Assert.Empty(await new MigrationRunner(connections).ApplyAsync(CancellationToken.None));
    }
}

/// <summary>The 1 → 2 migration on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresMigrationRunnerTests(PostgresServer server)
{
    [Fact]
    public async Task A_database_at_version_1_migrates_to_version_2_keeping_its_messages()
    {
        using var folder = new TempFolder();
        var connections = SqlDialect.Create(
            new StoreOptions { Provider = StoreProvider.Postgres, ConnectionString = await server.CreateDatabaseAsync() }, folder.Path);
        await HeldDocumentMigration.AssertVersion1MigratesTo2Async(connections);
    }
}
