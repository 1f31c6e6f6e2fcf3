namespace Dmp.Store;

/// <summary>Which SQL database holds the gateway's state.</summary>
public enum StoreProvider
{
    Sqlite,
    Postgres,
    SqlServer,
}

/// <summary>Settings under <c>Dmp:Store</c>.</summary>
public sealed class StoreOptions
{
    public const string Section = "Dmp:Store";

    public StoreProvider Provider { get; set; } = StoreProvider.Sqlite;

    /// <summary>When empty with SQLite: <c>Data Source=&lt;DataDir&gt;/dmp.db</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Raw payloads longer than this go to the blob store instead of the inbox row.</summary>
    public int InlineRawMaxBytes { get; set; } = 65536;

    /// <summary>Most frames committed by one grouped transaction.</summary>
    public int MaxBatch { get; set; } = 512;

    /// <summary>The connection string to use, applying the default for the provider.</summary>
    public string ResolveConnectionString(string dataDir) =>
        !string.IsNullOrWhiteSpace(ConnectionString)
            ? ConnectionString
            : Provider == StoreProvider.Sqlite
                ? "Data Source=" + Path.Combine(dataDir, "dmp.db")
                : throw new InvalidOperationException(
                    $"Dmp:Store:ConnectionString is required when Dmp:Store:Provider={Provider}.");

    /// <summary>Problems that must stop the gateway at start, each naming the setting and the fix.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Provider))
        {
            errors.Add($"Dmp:Store:Provider={Provider} is unknown: use Sqlite, Postgres or SqlServer.");
        }
        else if (Provider == StoreProvider.SqlServer && string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("Dmp:Store:Provider=SqlServer needs Dmp:Store:ConnectionString, e.g. Server=db.example,1433;Database=dmp;User ID=dmp;Password=…;Encrypt=True.");
        }
        else if (Provider == StoreProvider.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("Dmp:Store:Provider=Postgres needs Dmp:Store:ConnectionString, e.g. Host=127.0.0.1;Port=5432;Username=dmp;Database=dmp.");
        }

        if (InlineRawMaxBytes < 0)
        {
            errors.Add($"Dmp:Store:InlineRawMaxBytes={InlineRawMaxBytes} must be 0 or more.");
        }

        if (MaxBatch is < 1 or > 100_000)
        {
            errors.Add($"Dmp:Store:MaxBatch={MaxBatch} must be between 1 and 100000.");
        }

        return errors;
    }
}

/// <summary>Which blob store keeps large payloads and document bodies.</summary>
public enum BlobProvider
{
    Folder,
    AzureBlob,
}

/// <summary>Settings under <c>Dmp:Blobs</c>.</summary>
public sealed class BlobOptions
{
    public const string Section = "Dmp:Blobs";

    public BlobProvider Provider { get; set; } = BlobProvider.Folder;

    /// <summary>Folder of the <see cref="BlobProvider.Folder"/> store; default <c>&lt;DataDir&gt;/blobs</c>.</summary>
    public string? Path { get; set; }

    public string? ConnectionString { get; set; }

    /// <summary>The container of the <see cref="BlobProvider.AzureBlob"/> store (created when missing).</summary>
    public string Container { get; set; } = "dmp-ingest";

    public string ResolvePath(string dataDir) =>
        string.IsNullOrWhiteSpace(Path) ? System.IO.Path.Combine(dataDir, "blobs") : Path;

    /// <summary>Problems that must stop the gateway at start, each naming the setting and the fix.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Provider))
        {
            errors.Add($"Dmp:Blobs:Provider={Provider} is unknown: use Folder or AzureBlob.");
        }
        else if (Provider == BlobProvider.AzureBlob && string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("Dmp:Blobs:Provider=AzureBlob needs Dmp:Blobs:ConnectionString (an Azure Storage connection string; UseDevelopmentStorage=true for Azurite).");
        }

        return errors;
    }
}
