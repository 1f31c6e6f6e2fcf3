using System.Text.Json;
using Dapper;
using Dmp.Bench.Store;
using Dmp.Store.Tests;
using Npgsql;

namespace Dmp.Ingest.Worker.Tests.Postgres;

/// <summary>The map + store bench (`Dmp.Bench process --postgres`) on a real PostgreSQL database, as BENCHMARKS.md runs it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ProcessBenchOnPostgresTests(PostgresServer server)
{
    [Fact]
    public async Task Process_with_postgres_stores_and_processes_every_message_in_that_database()
    {
        var connectionString = await server.CreateDatabaseAsync();
        var dir = Directory.CreateTempSubdirectory("dmp-bench-process-pg-");
        try
        {
            var stdout = new StringWriter();
            var errors = new StringWriter();
            Assert.True(await ProcessCommand.RunAsync(
                ["--data", dir.FullName, "--messages", "12", "--receive", "8", "--patients", "5", "--template", "lab", "--postgres", connectionString],
                stdout, errors) == 0, errors.ToString());

            using (var json = JsonDocument.Parse(stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1]))
            {
                Assert.Equal("Postgres", json.RootElement.GetProperty("store").GetString());
                Assert.Equal(20, json.RootElement.GetProperty("statuses").GetProperty("processed").GetInt64());
            }

            // The messages, their results and their patients are in PostgreSQL, not in a SQLite file of the data folder.
            await using var connection = new NpgsqlConnection(connectionString);
            Assert.Equal(20, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbound_message WHERE status = 'processed';"));
            Assert.True(await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM entry;") > 0);
            Assert.InRange(await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM patient;"), 1, 5);
            Assert.Empty(dir.GetFiles("*.db", SearchOption.AllDirectories));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
