using System.Net;
using System.Text.Json;
using Dapper;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store.Tests;
using Npgsql;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>
/// On PostgreSQL, a database that stops taking writes (read-only sessions, as on a standby or a full disk's emergency
/// setting) makes `/health/ready` fail on the store check with PostgreSQL's reason, and ready again once it takes them.
/// </summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresReadinessTests(PostgresServer server)
{
    [Fact(Timeout = 120_000)]
    public async Task A_database_that_refuses_writes_is_not_ready_with_the_reason_then_ready_again()
    {
        var connectionString = await server.CreateDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Store:Provider"] = "Postgres",
            ["Dmp:Store:ConnectionString"] = connectionString,
        });
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(gateway)).Status);

        await using (var admin = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            // New sessions are read-only; the gateway's open ones are ended, so it reconnects into read-only sessions.
            await admin.ExecuteAsync($"ALTER DATABASE \"{database}\" SET default_transaction_read_only = on;");
            await EndSessionsAsync(admin, database);

            var (status, reason) = await WaitForAsync(gateway, r => r.Status == HttpStatusCode.ServiceUnavailable && r.Reason.Contains("25006", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.StartsWith("the store cannot commit (PostgresException 25006)", reason, StringComparison.Ordinal);

            await admin.ExecuteAsync($"ALTER DATABASE \"{database}\" RESET default_transaction_read_only;");
            await EndSessionsAsync(admin, database);
        }

        Assert.Equal(HttpStatusCode.OK, (await WaitForAsync(gateway, r => r.Status == HttpStatusCode.OK)).Status);
    }

    private static async Task EndSessionsAsync(NpgsqlConnection admin, string database)
    {
        await admin.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @Database AND pid <> pg_backend_pid();", new { Database = database });
        NpgsqlConnection.ClearAllPools();
    }

    private static async Task<(HttpStatusCode Status, string Reason)> WaitForAsync(TestGateway gateway, Func<(HttpStatusCode Status, string Reason), bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var ready = await ReadyAsync(gateway);
            if (done(ready) || DateTime.UtcNow > deadline)
                return ready;
            await Task.Delay(200);
        }
    }

    private static async Task<(HttpStatusCode Status, string Reason)> ReadyAsync(TestGateway gateway)
    {
        using var response = await gateway.Anonymous.GetAsync("/health/ready");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var store = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "store");
        return (response.StatusCode, store.TryGetProperty("reason", out var reason) ? reason.GetString()! : "");
    }
}
