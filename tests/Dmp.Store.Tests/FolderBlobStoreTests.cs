using System.Security.Cryptography;
using System.Text;
using Dmp.Store.Blobs;

namespace Dmp.Store.Tests;

public sealed class FolderBlobStoreTests
{
    [Fact]
    public async Task Put_stores_content_under_its_sha256_and_leaves_no_temporary_file()
    {
        using var folder = new TempFolder();
        var store = new FolderBlobStore(folder.Path);
        var bytes = Encoding.UTF8.GetBytes("a document body");

        var key = await store.PutAsync(bytes, CancellationToken.None);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), key);
        var file = Assert.Single(Directory.EnumerateFiles(folder.Path, "*", SearchOption.AllDirectories));
        Assert.Equal(Path.Combine(folder.Path, key[..2], key[2..4], key), file);
        Assert.Equal(bytes, await store.GetAsync(key, CancellationToken.None));
        Assert.True(await store.ExistsAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task Putting_the_same_bytes_again_or_concurrently_keeps_one_file()
    {
        using var folder = new TempFolder();
        var store = new FolderBlobStore(folder.Path);
        var bytes = new byte[100_000];
        new Random(1).NextBytes(bytes);

        var keys = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => store.PutAsync(bytes, CancellationToken.None))));
        var again = await store.PutAsync(bytes, CancellationToken.None);

        Assert.Single(keys.Append(again).Distinct());
        Assert.Single(Directory.EnumerateFiles(folder.Path, "*", SearchOption.AllDirectories));
        Assert.Equal(bytes, await store.GetAsync(again, CancellationToken.None));
    }

    [Fact]
    public async Task Delete_removes_and_reports_whether_there_was_anything()
    {
        using var folder = new TempFolder();
        var store = new FolderBlobStore(folder.Path);
        var key = await store.PutAsync(new byte[] { 1, 2, 3 }, CancellationToken.None);

        Assert.True(await store.DeleteAsync(key, CancellationToken.None));
        Assert.False(await store.DeleteAsync(key, CancellationToken.None));
        Assert.False(await store.ExistsAsync(key, CancellationToken.None));
        Assert.Null(await store.GetAsync(key, CancellationToken.None));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("ABCDEF")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")]
    public async Task A_key_that_is_not_lowercase_sha256_hex_is_refused(string key)
    {
        using var folder = new TempFolder();
        var store = new FolderBlobStore(folder.Path);

        await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync(key, CancellationToken.None));
    }
}
