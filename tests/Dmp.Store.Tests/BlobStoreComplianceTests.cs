using System.Security.Cryptography;
using System.Text;
using Dmp.Store.Blobs;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>What every blob store must do, run on the folder store and on Azure Blob Storage (Azurite).</summary>
public abstract class BlobStoreComplianceTests
{
    private protected abstract IBlobStore CreateStore(TempFolder folder);

    [Fact]
    public async Task Content_is_stored_under_its_sha256_and_reads_back_identical()
    {
        using var folder = new TempFolder();
        var store = CreateStore(folder);
        var bytes = Encoding.UTF8.GetBytes("a document body " + Guid.NewGuid());

        var key = await store.PutAsync(bytes, CancellationToken.None);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), key);
        Assert.Equal(bytes, await store.GetAsync(key, CancellationToken.None));
        Assert.True(await store.ExistsAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task The_same_bytes_put_concurrently_are_written_once_under_one_key()
    {
        using var folder = new TempFolder();
        var store = CreateStore(folder);
        var bytes = RandomNumberGenerator.GetBytes(300_000);

        var keys = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.PutAsync(bytes, CancellationToken.None))));

        Assert.Single(keys.Distinct());
        Assert.Equal(bytes, await store.GetAsync(keys[0], CancellationToken.None));
    }

    [Fact]
    public async Task Missing_content_reads_as_null_and_delete_reports_what_it_removed()
    {
        using var folder = new TempFolder();
        var store = CreateStore(folder);
        var key = await store.PutAsync(RandomNumberGenerator.GetBytes(64), CancellationToken.None);

        Assert.True(await store.DeleteAsync(key, CancellationToken.None));
        Assert.False(await store.DeleteAsync(key, CancellationToken.None));
        Assert.False(await store.ExistsAsync(key, CancellationToken.None));
        Assert.Null(await store.GetAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task A_key_that_is_not_a_sha256_is_refused_before_any_request()
    {
        using var folder = new TempFolder();
        var store = CreateStore(folder);

        await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync("../../etc/passwd", CancellationToken.None));
    }
}

public sealed class FolderBlobStoreComplianceTests : BlobStoreComplianceTests
{
    private protected override IBlobStore CreateStore(TempFolder folder) => new FolderBlobStore(folder.Path);
}

[Trait("Tier", "Slow")]
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStoreComplianceTests(AzuriteServer azurite) : BlobStoreComplianceTests
{
    private protected override IBlobStore CreateStore(TempFolder folder) =>
        new AzureBlobStore(azurite.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..20]);

    [Fact]
    public async Task Large_raw_messages_of_the_inbox_go_to_azure_blob_storage()
    {
        using var folder = new TempFolder();
        var blobs = new BlobOptions { Provider = BlobProvider.AzureBlob, ConnectionString = azurite.ConnectionString, Container = "inbox" + Guid.NewGuid().ToString("N")[..12] };
        await using var store = await DmpStore.OpenAsync(new StoreOptions { InlineRawMaxBytes = 1024 }, blobs, folder.Path, CancellationToken.None);
        var body = Frames.Hl7("BIG", new string('x', 50_000));

        var receipt = await store.Writer.AppendAsync(Frames.Make("mllp/GAM|CHU-X", "BIG", body), Decisions.Accept, CancellationToken.None);

        Assert.IsType<AzureBlobStore>(store.Blobs);
        Assert.Equal(Encoding.UTF8.GetBytes(body), await store.Queries.GetRawAsync(receipt.Id, CancellationToken.None));
        Assert.False(Directory.Exists(Path.Combine(folder.Path, "blobs")) && Directory.EnumerateFiles(Path.Combine(folder.Path, "blobs"), "*", SearchOption.AllDirectories).Any());
    }
}
