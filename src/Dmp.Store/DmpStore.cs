using Dmp.Store.Writing;
using Dmp.Store.Audit;
using Dmp.Store.Blobs;
using Dmp.Store.Dossier;
using Dmp.Store.Inbox;
using Dmp.Store.Retention;
using Dmp.Store.Sql;

namespace Dmp.Store;

/// <summary>The opened store: migrated database, blob store, inbox writer, queries and processing.</summary>
public sealed class DmpStore : IAsyncDisposable
{
    private DmpStore(
        StoreOptions options, SqlDialect connections, IBlobStore blobs, IReadOnlyList<int> appliedMigrations, TimeProvider time)
    {
        Options = options;
        Time = time;
        Connections = connections;
        Blobs = blobs;
        AppliedMigrations = appliedMigrations;
        Writer = new GroupCommitWriter(connections, blobs, options);
        Queries = new InboxQueries(connections, blobs);
        Processing = new InboxProcessing(connections, blobs, Writer, time);
        Audit = new AuditLog(connections, Writer, time);
        Retention = new InboxRetention(connections, blobs, time);
        PatientLinks = new PatientLinks(connections);
    }

    public StoreOptions Options { get; }

    /// <summary>The clock every write of the store reads (tests pass a fake one).</summary>
    public TimeProvider Time { get; }
    public SqlDialect Connections { get; }
    public IBlobStore Blobs { get; }
    public GroupCommitWriter Writer { get; }
    public InboxQueries Queries { get; }
    public InboxProcessing Processing { get; }
    public InboxRetention Retention { get; }

    /// <summary>The audit trail: hash chains per dossier, appended in grouped commits.</summary>
    public AuditLog Audit { get; }

    /// <summary>Identity merges and links recorded by applying messages to the dossier.</summary>
    public PatientLinks PatientLinks { get; }

    /// <summary>Migration versions applied by this open (empty when the schema was current).</summary>
    public IReadOnlyList<int> AppliedMigrations { get; }

    /// <summary>
    /// Validates the options, creates the data folder, applies pending migrations and starts the inbox writer.
    /// </summary>
    /// <exception cref="InvalidOperationException">The options are invalid or name a provider not in this build.</exception>
    public static Task<DmpStore> OpenAsync(
        StoreOptions store, BlobOptions blobs, string dataDir, CancellationToken cancellationToken) =>
        OpenAsync(store, blobs, dataDir, TimeProvider.System, cancellationToken);

    /// <inheritdoc cref="OpenAsync(StoreOptions, BlobOptions, string, CancellationToken)"/>
    /// <param name="time">The clock of the store's writes (audit times, retention, migrations).</param>
    public static async Task<DmpStore> OpenAsync(
        StoreOptions store, BlobOptions blobs, string dataDir, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDir);
        var errors = store.Validate().Concat(blobs.Validate()).ToList();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, errors));
        }

        PrivateFiles.CreateFolder(dataDir);
        var connections = SqlDialect.Create(store, dataDir);
        IBlobStore blobStore = blobs.Provider == BlobProvider.AzureBlob
            ? new AzureBlobStore(blobs.ConnectionString!, blobs.Container)
            : new FolderBlobStore(blobs.ResolvePath(dataDir));
        var applied = await new MigrationRunner(connections, time).ApplyAsync(cancellationToken).ConfigureAwait(false);
        return new DmpStore(store, connections, blobStore, applied, time);
    }

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync().ConfigureAwait(false);
        await Processing.DisposeAsync().ConfigureAwait(false);
        await Connections.DisposeAsync().ConfigureAwait(false);
    }
}
