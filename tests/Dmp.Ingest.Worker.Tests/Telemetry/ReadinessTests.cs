using System.Net;
using System.Text.Json;
using Dapper;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>
/// `/health/ready` fails (503) when the store cannot commit, the blob store cannot write or the data folder's disk is
/// below `Dmp:Health:MinFreeDiskMb`, each failure made real, and its JSON body names the check that failed and why.
/// `/health/live` stays 200 throughout.
/// </summary>
public sealed class ReadinessTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_working_gateway_is_ready_and_names_every_check()
    {
        await using var gateway = await TestGateway.StartAsync();

        var (status, body) = await ReadyAsync(gateway);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        Assert.Equal(["blobs", "data-dir", "disk", "store"], Checks(body).Keys.Order(StringComparer.Ordinal));
        Assert.All(Checks(body).Values, c => Assert.Equal("Healthy", c.GetProperty("status").GetString()));
        // The probe blob does not stay behind.
        var blobs = Path.Combine(gateway.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.DataDirFullPath, "blobs");
        Assert.Empty(Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories));
    }

    [Fact(Timeout = 60_000)]
    public async Task Less_free_disk_than_MinFreeDiskMb_is_not_ready_and_says_so()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Health:MinFreeDiskMb"] = "2000000000" });

        var (status, body) = await ReadyAsync(gateway);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", body.GetProperty("status").GetString());
        var disk = Checks(body)["disk"];
        Assert.Equal("Unhealthy", disk.GetProperty("status").GetString());
        Assert.Contains("below Dmp:Health:MinFreeDiskMb (2000000000 MB)", disk.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", Checks(body)["store"].GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await gateway.Anonymous.GetAsync("/health/live")).StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task MinFreeDiskMb_0_turns_the_disk_check_off()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Health:MinFreeDiskMb"] = "0" });

        var (status, body) = await ReadyAsync(gateway);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("MinFreeDiskMb=0", Checks(body)["disk"].GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_blob_folder_that_cannot_be_written_is_not_ready_and_says_so()
    {
        await using var gateway = await TestGateway.StartAsync();
        // The blob folder replaced by a file: nothing can be created under it (whoever runs the test, root included).
        var blobs = Path.Combine(gateway.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.DataDirFullPath, "blobs");
        Directory.Delete(blobs, recursive: true);
        await File.WriteAllTextAsync(blobs, "not a folder");

        var (status, body) = await ReadyAsync(gateway);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var check = Checks(body)["blobs"];
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
        Assert.Contains("the blob store cannot write", check.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", Checks(body)["store"].GetProperty("status").GetString());

        File.Delete(blobs);
        Directory.CreateDirectory(blobs);
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(gateway)).Status);
    }

    [Fact(Timeout = 90_000)]
    [Trait("Tier", "Slow")]
    public async Task A_store_that_cannot_commit_is_not_ready_and_says_so_then_ready_again()
    {
        await using var gateway = await TestGateway.StartAsync();
        var store = gateway.Services.GetRequiredService<DmpStore>();
        // Another process's write transaction holds the SQLite file: the gateway's writer cannot commit.
        await using (var holder = await store.Connections.OpenAsync(CancellationToken.None))
        {
            await holder.ExecuteAsync("PRAGMA busy_timeout=0; BEGIN IMMEDIATE; UPDATE health_probe SET at = 'held' WHERE id = 1;");

            var (status, body) = await ReadyAsync(gateway);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            var check = Checks(body)["store"];
            Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
            Assert.Contains("the store did not commit within 5 s", check.GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Equal("Healthy", Checks(body)["blobs"].GetProperty("status").GetString());
            await holder.ExecuteAsync("ROLLBACK;");
        }

        // The writer gets its commit once the file is free again (its wait for the lock may still be running).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        HttpStatusCode again;
        while ((again = (await ReadyAsync(gateway)).Status) != HttpStatusCode.OK && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.Equal(HttpStatusCode.OK, again);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(TestGateway gateway)
    {
        using var response = await gateway.Anonymous.GetAsync("/health/ready");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static Dictionary<string, JsonElement> Checks(JsonElement body) =>
        body.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c);
}
