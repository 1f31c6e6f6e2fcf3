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

    [Fact]
    public void SqlServer_is_accepted_with_a_connection_string_and_refused_without_one_naming_the_setting()
    {
        Assert.Contains(new StoreOptions { Provider = StoreProvider.SqlServer }.Validate(),
            e => e.Contains("Dmp:Store:Provider=SqlServer needs Dmp:Store:ConnectionString", StringComparison.Ordinal));
        var options = new StoreOptions { Provider = StoreProvider.SqlServer, ConnectionString = "Server=127.0.0.1,1433;Database=dmp;Integrated Security=False" };

        Assert.Empty(options.Validate());
        var dialect = SqlDialect.Create(options, "data");
        Assert.Equal(StoreProvider.SqlServer, dialect.Provider);
        Assert.Equal("SqlServer", dialect.MigrationFolder);
    }

    [Fact]
    public void A_connection_string_SqlClient_cannot_read_is_refused_naming_the_setting()
    {
        using var folder = new TempFolder();
        var options = new StoreOptions { Provider = StoreProvider.SqlServer, ConnectionString = "Host=localhost" };

        var error = Assert.Throws<ArgumentException>(() => SqlDialect.Create(options, folder.Path));

        Assert.Contains("Dmp:Store:ConnectionString is not a SQL Server connection string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_provider_value_outside_the_enum_fails_naming_the_setting()
    {
        var options = new StoreOptions { Provider = (StoreProvider)42, ConnectionString = "x" };

        Assert.Contains(options.Validate(), e => e.Contains("Dmp:Store:Provider=42 is unknown", StringComparison.Ordinal));
        Assert.Throws<NotSupportedException>(() => SqlDialect.Create(options, "data"));
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
