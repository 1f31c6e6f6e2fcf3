using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Tests;

/// <summary>
/// Every upgrade path: a database left at each earlier schema version, holding a message, migrates to
/// the latest one keeping its rows, and ends with exactly the schema a fresh database gets.
/// </summary>
public abstract class MigrationPathTests
{
    /// <summary>
    /// An instant as an untyped SQL literal: an earlier PostgreSQL schema stores it in a TIMESTAMPTZ column,
    /// a later one (0009) as text, and the literal fits both where a text parameter would not.
    /// </summary>
    private protected const string EarlierTime = "'2026-01-02T03:04:05.6789010Z'";

    private protected abstract Task<SqlDialect> NewDatabaseAsync(TempFolder folder);

    /// <summary>Table, column and index names of the current schema, sorted, one per line.</summary>
    private protected abstract Task<IReadOnlyList<string>> SchemaAsync(SqlDialect connections);

    [Fact]
    public async Task A_database_at_each_earlier_version_migrates_to_the_schema_of_a_fresh_one()
    {
        using var freshFolder = new TempFolder();
        var fresh = await NewDatabaseAsync(freshFolder);
        var migrations = new MigrationRunner(fresh).Migrations;
        Assert.True(migrations.Count >= 3, "expected several migrations");
        await new MigrationRunner(fresh).ApplyAsync(CancellationToken.None);
        var expected = await SchemaAsync(fresh);
        Assert.Contains(expected, line => line.StartsWith("document.", StringComparison.Ordinal));

        foreach (var from in migrations.Take(migrations.Count - 1))
        {
            using var folder = new TempFolder();
            var connections = await NewDatabaseAsync(folder);
            long messageId;
            await using (var connection = await connections.OpenAsync(CancellationToken.None))
            {
                // The database as version `from` left it, with a processed message in it.
                await connection.ExecuteAsync(connections.CreateSchemaVersionTableSql);
                foreach (var step in migrations.Where(m => m.Version <= from.Version))
                {
                    await connection.ExecuteAsync(step.Sql);
                    await connection.ExecuteAsync(
                        $"INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, {EarlierTime});",
                        new { step.Version, step.Name });
                }
                messageId = await connection.ExecuteScalarAsync<long>(
                    $"""
                    INSERT INTO inbound_message (channel, sender, control_id, sha256, length, raw, status, received_at, last_received_at)
                    VALUES ('mllp', 'mllp/APP|FAC', 'C-1', @Sha, 3, @Raw, 'processed', {EarlierTime}, {EarlierTime}) RETURNING id;
                    """,
                    new { Sha = Enumerable.Repeat((byte)7, 32).ToArray(), Raw = new byte[] { 1, 2, 3 } });
                await connection.ExecuteAsync(
                    $"INSERT INTO inbound_message_history (message_id, at, status) VALUES (@Id, {EarlierTime}, 'processed');",
                    new { Id = messageId });
            }

            var applied = await new MigrationRunner(connections).ApplyAsync(CancellationToken.None);

            Assert.Equal(migrations.Where(m => m.Version > from.Version).Select(m => m.Version), applied);
            Assert.Equal(expected, await SchemaAsync(connections));
            await using (var connection = await connections.OpenAsync(CancellationToken.None))
            {
                var row = await connection.QuerySingleAsync<(string Status, string ControlId, byte[] Raw)>(
                    "SELECT status, control_id, raw FROM inbound_message WHERE id = @Id;", new { Id = messageId });
                Assert.Equal(("processed", "C-1"), (row.Status, row.ControlId));
                Assert.Equal(new byte[] { 1, 2, 3 }, row.Raw);

                // Every instant, kept and new, reads back in the store's one encoding, to the microsecond.
                var times = await connection.QuerySingleAsync<(string ReceivedAt, string LastReceivedAt, string? PurgedAt)>(
                    "SELECT received_at, last_received_at, raw_purged_at FROM inbound_message WHERE id = @Id;", new { Id = messageId });
                Assert.Equal<(string, string, string?)>((EarlierTime.Trim('\''), EarlierTime.Trim('\''), null), times);
                Assert.Equal(EarlierTime.Trim('\''), await connection.ExecuteScalarAsync<string>(
                    "SELECT at FROM inbound_message_history WHERE message_id = @Id;", new { Id = messageId }));
                Assert.All(
                    await connection.QueryAsync<string>("SELECT applied_at FROM schema_version;"),
                    at => StoreTime.Read(at));
            }
        }
    }
}

public sealed class SqliteMigrationPathTests : MigrationPathTests
{
    private protected override Task<SqlDialect> NewDatabaseAsync(TempFolder folder) =>
        Task.FromResult(SqlDialect.Create(new StoreOptions(), folder.Path));

    private protected override async Task<IReadOnlyList<string>> SchemaAsync(SqlDialect connections)
    {
        await using var connection = await connections.OpenAsync(CancellationToken.None);
        var lines = new List<string>();
        var objects = (await connection.QueryAsync<(string Type, string Name, string Table)>(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name;")).ToList();
        foreach (var (type, name, table) in objects)
        {
            if (type == "index")
            {
                lines.Add($"index {name} on {table}");
                continue;
            }
            if (type != "table")
                continue;
            foreach (var column in await connection.QueryAsync<(string Name, string Type, long NotNull)>(
                         $"SELECT name, type, \"notnull\" FROM pragma_table_info('{name}');"))
                lines.Add($"{name}.{column.Name} {column.Type} {(column.NotNull == 1 ? "NOT NULL" : "NULL")}");
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }
}

[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresMigrationPathTests(PostgresServer server) : MigrationPathTests
{
    private protected override async Task<SqlDialect> NewDatabaseAsync(TempFolder folder) =>
        SqlDialect.Create(
            new StoreOptions { Provider = StoreProvider.Postgres, ConnectionString = await server.CreateDatabaseAsync() }, folder.Path);

    private protected override async Task<IReadOnlyList<string>> SchemaAsync(SqlDialect connections)
    {
        await using var connection = await connections.OpenAsync(CancellationToken.None);
        var columns = await connection.QueryAsync<string>(
            """
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || CASE is_nullable WHEN 'NO' THEN 'NOT NULL' ELSE 'NULL' END
            FROM information_schema.columns WHERE table_schema = current_schema();
            """);
        var indexes = await connection.QueryAsync<string>(
            "SELECT 'index ' || indexname || ' on ' || tablename FROM pg_indexes WHERE schemaname = current_schema();");
        return [.. columns.Concat(indexes).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task A_database_from_before_0009_keeps_its_instants_as_utc_text()
    {
        using var folder = new TempFolder();
        var connections = await NewDatabaseAsync(folder);
        var runner = new MigrationRunner(connections);
        long messageId;
        await using (var connection = await connections.OpenAsync(CancellationToken.None))
        {
            // Version 8 as it was: schema_version and the inbox's instants in TIMESTAMPTZ columns.
            await connection.ExecuteAsync(
                "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL);");
            foreach (var step in runner.Migrations.Where(m => m.Version <= 8))
            {
                await connection.ExecuteAsync(step.Sql);
                await connection.ExecuteAsync(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, @At);",
                    new { step.Version, step.Name, At = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero) });
            }

            messageId = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO inbound_message (channel, sender, sha256, length, raw, status, received_at, last_received_at, processed_at, raw_purged_at)
                VALUES ('mllp', 'mllp/APP|FAC', @Sha, 1, NULL, 'processed',
                        '2026-03-04 05:06:07.123456+02', '2026-03-04 05:06:08+00', '2026-03-04 05:06:09.5+00', '2026-04-01 00:00:00+00')
                RETURNING id;
                """,
                new { Sha = new byte[32] });
            await connection.ExecuteAsync(
                "INSERT INTO inbound_message_history (message_id, at, status) VALUES (@Id, '2026-03-04 03:06:07.123456+00', 'accepted');",
                new { Id = messageId });
        }

        Assert.Equal(runner.Migrations.Where(m => m.Version > 8).Select(m => m.Version), await runner.ApplyAsync(CancellationToken.None));

        await using (var connection = await connections.OpenAsync(CancellationToken.None))
        {
            var row = await connection.QuerySingleAsync<(string Received, string Last, string Processed, string Purged)>(
                "SELECT received_at, last_received_at, processed_at, raw_purged_at FROM inbound_message WHERE id = @Id;", new { Id = messageId });
            Assert.Equal(
                ("2026-03-04T03:06:07.1234560Z", "2026-03-04T05:06:08.0000000Z", "2026-03-04T05:06:09.5000000Z", "2026-04-01T00:00:00.0000000Z"),
                row);
            Assert.Equal("2026-03-04T03:06:07.1234560Z", await connection.ExecuteScalarAsync<string>(
                "SELECT at FROM inbound_message_history WHERE message_id = @Id;", new { Id = messageId }));
            Assert.All(
                await connection.QueryAsync<string>("SELECT applied_at FROM schema_version WHERE version <= 8;"),
                at => Assert.Equal("2026-01-02T03:04:05.0000000Z", at));
            Assert.Equal(
                new DateTimeOffset(2026, 3, 4, 3, 6, 7, 123, 456, TimeSpan.Zero),
                StoreTime.Read(row.Received));
        }
    }
}
