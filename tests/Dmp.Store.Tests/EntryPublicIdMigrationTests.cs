using System.Text.Json.Nodes;
using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Tests;

/// <summary>
/// Migration 0011 on a dossier stored before it: every entry gets its own random public id, its JSON carries it, a
/// report's results name their Observations by theirs (the content-derived ids are gone), and a row whose text is not
/// JSON is kept as it was. A row written afterwards without a public id still gets one.
/// </summary>
public abstract class EntryPublicIdMigrationTests
{
    private const string At = "2026-01-02T03:04:05.0000000Z";

    private protected abstract Task<SqlDialect> NewDatabaseAsync(TempFolder folder);

    [Fact]
    public async Task Stored_entries_get_public_ids_and_their_reports_point_at_them()
    {
        using var folder = new TempFolder();
        var connections = await NewDatabaseAsync(folder);
        var migrations = new MigrationRunner(connections).Migrations;
        long first, second;
        await using (var connection = await connections.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(connections.CreateSchemaVersionTableSql);
            foreach (var step in migrations.Where(m => m.Version < 11))
            {
                await connection.ExecuteAsync(step.Sql);
                await connection.ExecuteAsync($"INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, '{At}');", new { step.Version, step.Name });
            }

            async Task<long> PatientAsync(string ins) => await connection.ExecuteScalarAsync<long>(
                $"INSERT INTO patient (ins, ins_system, created_at, updated_at) VALUES (@Ins, '1.2.250.1.213.1.4.8', '{At}', '{At}') RETURNING id;", new { Ins = ins });
            async Task EntryAsync(long patient, string kind, string fingerprint, string resource) => await connection.ExecuteAsync(
                $"INSERT INTO entry (patient_id, kind, fingerprint, resource, recorded_at, updated_at) VALUES (@Patient, @Kind, @Fingerprint, @Resource, '{At}', '{At}');",
                new { Patient = patient, Kind = kind, Fingerprint = fingerprint, Resource = resource });
            first = await PatientAsync("279035121518989");
            second = await PatientAsync("274075176079430");
            // The same result in both dossiers under one content-derived id, as stored before 0011.
            foreach (var patient in new[] { first, second })
            {
                await EntryAsync(patient, "Observation", "f-obs", """{"resourceType":"Observation","id":"content-obs"}""");
                await EntryAsync(patient, "Observation", "f-obs2", """{"resourceType":"Observation","id":"content-obs2"}""");
                await EntryAsync(patient, "DiagnosticReport", "f-rep",
                    """{"resourceType":"DiagnosticReport","id":"content-rep","result":[{"reference":"Observation/content-obs"},{"reference":"Observation/content-obs2"},{"reference":"Observation/content-gone"}]}""");
            }
            await EntryAsync(first, "Condition", "f-bad", "not json");
        }

        // 0011 is applied by this run (later migrations may follow it).
        Assert.Contains(11, await new MigrationRunner(connections).ApplyAsync(CancellationToken.None));

        await using (var connection = await connections.OpenAsync(CancellationToken.None))
        {
            var rows = (await connection.QueryAsync<(long Patient, string Kind, string Fingerprint, string PublicId, string Resource)>(
                "SELECT patient_id, kind, fingerprint, public_id, resource FROM entry ORDER BY id;")).ToList();
            Assert.Equal(7, rows.Select(r => r.PublicId).Distinct().Count());
            Assert.All(rows, r => Assert.Matches("^[0-9a-f]{32}$", r.PublicId));
            Assert.Equal("not json", Assert.Single(rows, r => r.Kind == "Condition").Resource);
            foreach (var patient in new[] { first, second })
            {
                var own = rows.Where(r => r.Patient == patient && r.Kind != "Condition").ToDictionary(r => r.Fingerprint);
                foreach (var row in own.Values)
                {
                    Assert.Equal(row.PublicId, (string?)JsonNode.Parse(row.Resource)!["id"]);
                    Assert.DoesNotContain("content-", row.Resource, StringComparison.Ordinal);
                }

                var results = JsonNode.Parse(own["f-rep"].Resource)!["result"]!.AsArray().Select(r => (string?)r!["reference"]);
                Assert.Equal([$"Observation/{own["f-obs"].PublicId}", $"Observation/{own["f-obs2"].PublicId}"], results);
            }

            // A row written without a public id after the migration still gets one of its own.
            await connection.ExecuteAsync(
                $"INSERT INTO entry (patient_id, kind, fingerprint, resource, recorded_at, updated_at) VALUES (@Patient, 'Procedure', 'f-late', '{{}}', '{At}', '{At}');",
                new { Patient = first });
            Assert.Matches("^[0-9a-f]{32}$", await connection.ExecuteScalarAsync<string>("SELECT public_id FROM entry WHERE fingerprint = 'f-late';"));
        }
    }
}

public sealed class SqliteEntryPublicIdMigrationTests : EntryPublicIdMigrationTests
{
    private protected override Task<SqlDialect> NewDatabaseAsync(TempFolder folder) =>
        Task.FromResult(SqlDialect.Create(new StoreOptions(), folder.Path));
}

[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresEntryPublicIdMigrationTests(PostgresServer server) : EntryPublicIdMigrationTests
{
    private protected override async Task<SqlDialect> NewDatabaseAsync(TempFolder folder) =>
        SqlDialect.Create(new StoreOptions { Provider = StoreProvider.Postgres, ConnectionString = await server.CreateDatabaseAsync() }, folder.Path);
}
