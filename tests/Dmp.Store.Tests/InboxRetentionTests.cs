using System.Text;
using Dapper;
using Dmp.Store.Inbox;
using Microsoft.Data.Sqlite;

namespace Dmp.Store.Tests;

/// <summary>Retention on every provider: raw bytes of old finished messages go, rows, hashes and ACKs stay.</summary>
public abstract class InboxRetentionTests
{
    private protected abstract Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null);

    private protected const string Gam = "mllp/GAM|CHU-X", Lab = "mllp/LAB|LAB-Y";
    private protected static readonly DateTimeOffset Old = Frames.T0, Recent = DateTimeOffset.UtcNow;
    private protected static readonly DateTimeOffset Cutoff = DateTimeOffset.UtcNow - TimeSpan.FromDays(30);

    [Fact]
    public async Task Purge_drops_raw_bytes_of_old_processed_and_ignored_messages_only_and_keeps_their_rows()
    {
        await using var t = await OpenStoreAsync(o => o.InlineRawMaxBytes = 200);
        var processed = new List<InboxReceipt>();
        for (var i = 0; i < 5; i++)
            processed.Add(await t.AcceptAsync(Frames.Make(Gam, $"P{i}", Frames.Hl7($"P{i}"), Old)));
        var ignoredInBlob = await t.AcceptAsync(Frames.Make(Gam, "IGN", Frames.Hl7("IGN", new string('x', 400)), Old));
        var failed = await t.AcceptAsync(Frames.Make(Gam, "F", Frames.Hl7("F"), Old));
        var held = await t.AcceptAsync(Frames.Make(Lab, "H", Frames.Hl7("H"), Old));
        var waiting = await t.AcceptAsync(Frames.Make(Lab, "A", Frames.Hl7("A"), Old));
        var recent = await t.AcceptAsync(Frames.Make(Lab, "R", Frames.Hl7("R"), Recent));
        await SetStatusAsync(t, InboxStatus.Processed, [.. processed.Select(r => r.Id), recent.Id]);
        await SetStatusAsync(t, InboxStatus.Ignored, ignoredInBlob.Id);
        await SetStatusAsync(t, InboxStatus.Failed, failed.Id);
        await SetStatusAsync(t, InboxStatus.Held, held.Id);
        var blobKey = await BlobKeyAsync(t, ignoredInBlob.Id);
        Assert.NotNull(blobKey);
        Assert.True(await t.Store.Blobs.ExistsAsync(blobKey, CancellationToken.None));

        var result = await t.Store.Retention.PurgeAsync(Cutoff, batchSize: 2, CancellationToken.None);

        Assert.Equal(6, result.MessagesPurged);
        Assert.Equal(1, result.BlobsDeleted);
        Assert.False(await t.Store.Blobs.ExistsAsync(blobKey, CancellationToken.None));
        foreach (var id in processed.Select(r => r.Id).Append(ignoredInBlob.Id))
        {
            Assert.Null(await t.Queries.GetRawAsync(id, CancellationToken.None));
            var detail = (await t.Queries.GetAsync(id, CancellationToken.None))!;
            Assert.NotNull(detail.Message.RawPurgedAt);
            Assert.Equal("AA", detail.Message.AckCode);
            Assert.Equal(64, detail.Message.Sha256Hex.Length);
            Assert.NotEmpty(detail.History);
        }
        Assert.Null(await BlobKeyAsync(t, ignoredInBlob.Id));
        foreach (var id in new[] { failed.Id, held.Id, waiting.Id, recent.Id })
        {
            Assert.NotNull(await t.Queries.GetRawAsync(id, CancellationToken.None));
            Assert.Null((await t.Queries.GetAsync(id, CancellationToken.None))!.Message.RawPurgedAt);
        }

        var again = await t.Store.Retention.PurgeAsync(Cutoff, batchSize: 2, CancellationToken.None);
        Assert.Equal(0, again.MessagesPurged);
    }

    [Fact]
    public async Task A_resend_of_a_purged_message_is_still_a_duplicate_answered_with_the_stored_ack()
    {
        await using var t = await OpenStoreAsync();
        var frame = Frames.Make(Gam, "1", Frames.Hl7("1"), Old);
        var first = await t.AcceptAsync(frame);
        await SetStatusAsync(t, InboxStatus.Processed, first.Id);
        Assert.Equal(1, (await t.Store.Retention.PurgeAsync(Cutoff, 100, CancellationToken.None)).MessagesPurged);

        var resent = await t.Writer.AppendAsync(frame with { ReceivedAt = Recent },
            _ => throw new InvalidOperationException("a resend must not be decided again"), CancellationToken.None);

        Assert.True(resent.Duplicate);
        Assert.Equal(first.Id, resent.Id);
        Assert.Equal(first.Ack, resent.Ack);
        Assert.Equal(2, resent.Receipts);
        Assert.Equal(InboxStatus.Processed, resent.Status);
        Assert.Null(await t.Queries.GetRawAsync(first.Id, CancellationToken.None));
        Assert.Single((await t.Queries.ListAsync(new InboxFilter { ControlId = "1" }, 10, null, CancellationToken.None)).Items);
    }

    [Fact]
    public async Task A_purged_message_cannot_be_replayed()
    {
        await using var t = await OpenStoreAsync();
        var message = await t.AcceptAsync(Frames.Make(Gam, "1", Frames.Hl7("1"), Old));
        await SetStatusAsync(t, InboxStatus.Processed, message.Id);
        await t.Store.Retention.PurgeAsync(Cutoff, 100, CancellationToken.None);

        Assert.False(await t.Processing.RequeueForReplayAsync(message.Id, CancellationToken.None));
        Assert.Equal(InboxStatus.Processed, (await t.Queries.GetAsync(message.Id, CancellationToken.None))!.Message.Status);
    }

    [Fact]
    public async Task A_blob_another_message_or_a_document_still_names_is_kept()
    {
        await using var t = await OpenStoreAsync(o => o.InlineRawMaxBytes = 100);
        var shared = Encoding.UTF8.GetBytes(Frames.Hl7("S", new string('s', 300)));
        var oldCopy = await t.AcceptAsync(Frames.Make(Gam, "S", shared, Old));
        var newCopy = await t.AcceptAsync(Frames.Make(Lab, "S", shared, Recent)); // same bytes from another sender: same blob
        var cda = await t.AcceptAsync(Frames.Make(Gam, "D", Frames.Hl7("D", new string('d', 300)), Old));
        await SetStatusAsync(t, InboxStatus.Processed, oldCopy.Id, newCopy.Id, cda.Id);
        var sharedKey = (await BlobKeyAsync(t, oldCopy.Id))!;
        Assert.Equal(sharedKey, await BlobKeyAsync(t, newCopy.Id));
        var documentKey = (await BlobKeyAsync(t, cda.Id))!;
        await InsertDocumentAsync(t, documentKey);

        var result = await t.Store.Retention.PurgeAsync(Cutoff, 100, CancellationToken.None);

        Assert.Equal(2, result.MessagesPurged);
        Assert.Equal(0, result.BlobsDeleted);
        Assert.Equal(2, result.BlobsKept);
        Assert.True(await t.Store.Blobs.ExistsAsync(sharedKey, CancellationToken.None));
        Assert.True(await t.Store.Blobs.ExistsAsync(documentKey, CancellationToken.None));
        Assert.Equal(shared, await t.Queries.GetRawAsync(newCopy.Id, CancellationToken.None));
        Assert.Null(await t.Queries.GetRawAsync(oldCopy.Id, CancellationToken.None));
    }

    private protected static async Task SetStatusAsync(TestStore t, string status, params long[] ids)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        foreach (var id in ids)
            await connection.ExecuteAsync("UPDATE inbound_message SET status = @Status WHERE id = @Id", new { Status = status, Id = id });
    }

    private static async Task<string?> BlobKeyAsync(TestStore t, long id)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<string?>("SELECT blob_key FROM inbound_message WHERE id = @Id", new { Id = id });
    }

    private static async Task InsertDocumentAsync(TestStore t, string blobKey)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        var now = StoreTime.Write(DateTimeOffset.UtcNow);
        var patient = await connection.ExecuteScalarAsync<long>(
            "INSERT INTO patient (created_at, updated_at) VALUES (@Now, @Now) RETURNING id", new { Now = now });
        await connection.ExecuteAsync(
            "INSERT INTO document (patient_id, unique_id, status, blob_key, stored_at, updated_at) VALUES (@Patient, '1.2.3.4', 'current', @Key, @Now, @Now)",
            new { Patient = patient, Key = blobKey, Now = now });
    }
}

/// <summary>Retention on SQLite, with the file-size checks that only SQLite needs.</summary>
public sealed class SqliteInboxRetentionTests : InboxRetentionTests
{
    private protected override Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) => TestStore.OpenAsync(configure);

    [Fact]
    public async Task A_new_database_file_is_created_with_incremental_auto_vacuum()
    {
        await using var t = await OpenStoreAsync();
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        Assert.Equal(2L, await connection.ExecuteScalarAsync<long>("PRAGMA auto_vacuum"));
    }

    [Fact]
    public async Task Purging_old_messages_shrinks_the_database_file()
    {
        await using var t = await OpenStoreAsync();
        await AppendProcessedAsync(t, count: 3000, bytes: 20 * 1024);
        var path = Path.Combine(t.Folder.Path, "dmp.db");
        await CheckpointAsync(t);
        var before = new FileInfo(path).Length;
        Assert.True(before > 3000L * 20 * 1024, $"the database holds the raw bytes inline ({before} bytes)");

        var result = await t.Store.Retention.PurgeAsync(Cutoff, 500, CancellationToken.None);
        await CheckpointAsync(t);
        var after = new FileInfo(path).Length;

        Assert.Equal(3000, result.MessagesPurged);
        Assert.False(result.DatabaseRebuilt);
        Assert.True(after < before / 10, $"the file went from {before} to {after} bytes");
        Assert.True(result.DatabaseBytesReleased > before / 2, $"released {result.DatabaseBytesReleased} of {before} bytes");
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        Assert.Equal(3000L, await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM inbound_message WHERE status = 'processed' AND raw IS NULL AND raw_purged_at IS NOT NULL AND length(sha256) = 32"));
    }

    [Fact]
    public async Task A_database_made_without_auto_vacuum_is_rebuilt_once_then_shrinks_incrementally()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "legacy.db");
        await using (var legacy = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            // As a database created before the store set auto_vacuum: a table exists, auto_vacuum is NONE.
            await legacy.OpenAsync();
            await legacy.ExecuteAsync("PRAGMA journal_mode=WAL; CREATE TABLE legacy_marker (x INTEGER);");
            Assert.Equal(0L, await legacy.ExecuteScalarAsync<long>("PRAGMA auto_vacuum"));
        }

        await using var t = await TestStore.OpenAsync(o => o.ConnectionString = $"Data Source={path}");
        Assert.Equal(0L, await AutoVacuumAsync(t));
        await AppendProcessedAsync(t, count: 300, bytes: 20 * 1024, prefix: "A");

        var first = await t.Store.Retention.PurgeAsync(Cutoff, 500, CancellationToken.None);
        Assert.True(first.DatabaseRebuilt);
        Assert.Equal(2L, await AutoVacuumAsync(t));

        await AppendProcessedAsync(t, count: 300, bytes: 20 * 1024, prefix: "B");
        await CheckpointAsync(t);
        var before = new FileInfo(path).Length;
        var second = await t.Store.Retention.PurgeAsync(Cutoff, 500, CancellationToken.None);
        await CheckpointAsync(t);

        Assert.False(second.DatabaseRebuilt);
        Assert.Equal(300, second.MessagesPurged);
        Assert.True(new FileInfo(path).Length < before / 4, $"the file went from {before} to {new FileInfo(path).Length} bytes");
    }

    private static async Task AppendProcessedAsync(TestStore t, int count, int bytes, string prefix = "M")
    {
        var receipts = await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
        {
            var body = new byte[bytes];
            Random.Shared.NextBytes(body);
            Encoding.ASCII.GetBytes($"MSH|^~\\&|GAM|CHU-X|||{prefix}{i}|").CopyTo(body, 0);
            return t.AcceptAsync(Frames.Make(Gam, $"{prefix}{i}", body, Old));
        }));
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync("UPDATE inbound_message SET status = 'processed' WHERE status = 'accepted'");
    }

    private static async Task CheckpointAsync(TestStore t)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    private static async Task<long> AutoVacuumAsync(TestStore t)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<long>("PRAGMA auto_vacuum");
    }
}

/// <summary>Retention on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresInboxRetentionTests(PostgresServer server) : InboxRetentionTests
{
    private protected override async Task<TestStore> OpenStoreAsync(Action<StoreOptions>? configure = null) =>
        await TestStore.OpenAsync(await server.CreateDatabaseAsync(), configure);
}
