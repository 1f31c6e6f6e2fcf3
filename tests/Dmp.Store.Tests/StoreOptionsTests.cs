using Dmp.Store.Sql;

namespace Dmp.Store.Tests;

public sealed class StoreOptionsTests
{
    [Fact]
    public void Defaults_are_sqlite_in_the_data_folder_and_a_blob_folder_beside_it()
    {
        var store = new StoreOptions();
        var blobs = new BlobOptions();

        Assert.Equal(StoreProvider.Sqlite, store.Provider);
        Assert.Equal(65536, store.InlineRawMaxBytes);
        Assert.Equal(512, store.MaxBatch);
        Assert.Equal("Data Source=" + Path.Combine("data", "dmp.db"), store.ResolveConnectionString("data"));
        Assert.Equal(BlobProvider.Folder, blobs.Provider);
        Assert.Equal(Path.Combine("data", "blobs"), blobs.ResolvePath("data"));
        Assert.Empty(store.Validate());
        Assert.Empty(blobs.Validate());
    }

    [Fact]
    public void Postgres_without_a_connection_string_is_refused_naming_the_setting()
    {
        var errors = new StoreOptions { Provider = StoreProvider.Postgres }.Validate();

        Assert.Contains(errors, e => e.Contains("Dmp:Store:ConnectionString", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(StoreProvider.SqlServer)]
    public async Task A_provider_not_in_this_build_fails_at_open_naming_the_setting(StoreProvider provider)
    {
        using var folder = new TempFolder();
        var options = new StoreOptions { Provider = provider, ConnectionString = "Host=localhost" };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => DmpStore.OpenAsync(options, new BlobOptions(), folder.Path, CancellationToken.None));

        Assert.Contains($"Dmp:Store:Provider={provider} is not available in this build yet", error.Message);
        Assert.Throws<NotSupportedException>(() => SqlDialect.Create(options, folder.Path));
    }

    [Fact]
    public void Azure_blobs_without_a_connection_string_are_refused_naming_the_setting()
    {
        var errors = new BlobOptions { Provider = BlobProvider.AzureBlob }.Validate();

        Assert.Contains(errors, e => e.Contains("Dmp:Blobs:ConnectionString", StringComparison.Ordinal));
    }

    [Fact]
    public void Out_of_range_sizes_are_reported()
    {
        var errors = new StoreOptions { MaxBatch = 0, InlineRawMaxBytes = -1 }.Validate();

        Assert.Contains(errors, e => e.Contains("Dmp:Store:MaxBatch", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Dmp:Store:InlineRawMaxBytes", StringComparison.Ordinal));
    }
}
