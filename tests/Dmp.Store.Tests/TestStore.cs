using Dmp.Store.Writing;
using System.Security.Cryptography;
using System.Text;
using Dmp.Store.Inbox;
using Microsoft.Data.Sqlite;

namespace Dmp.Store.Tests;

/// <summary>A store in its own temporary folder, deleted afterwards.</summary>
internal sealed class TestStore : IAsyncDisposable
{
    private TestStore(TempFolder folder, DmpStore store)
    {
        Folder = folder;
        Store = store;
    }

    public TempFolder Folder { get; }
    public DmpStore Store { get; }
    public GroupCommitWriter Writer => Store.Writer;
    public InboxQueries Queries => Store.Queries;
    public InboxProcessing Processing => Store.Processing;

    /// <summary>The options this store was opened with (to open a second instance on the same database).</summary>
    public StoreOptions Options => Store.Options;

    public static async Task<TestStore> OpenAsync(Action<StoreOptions>? configure = null) => await OpenAsync(null, configure);

    /// <summary>Opens a store on SQLite in its folder, or on <paramref name="connectionString"/> (PostgreSQL) when given.</summary>
    public static Task<TestStore> OpenAsync(string? connectionString, Action<StoreOptions>? configure = null) =>
        OpenAsync(connectionString is null ? StoreProvider.Sqlite : StoreProvider.Postgres, connectionString, configure);

    /// <summary>Opens a store of <paramref name="provider"/> on <paramref name="connectionString"/> (SQLite in its folder when null).</summary>
    public static async Task<TestStore> OpenAsync(StoreProvider provider, string? connectionString, Action<StoreOptions>? configure = null)
    {
        var folder = new TempFolder();
        var options = connectionString is null
            ? new StoreOptions()
            : new StoreOptions { Provider = provider, ConnectionString = connectionString };
        configure?.Invoke(options);
        var store = await DmpStore.OpenAsync(options, new BlobOptions(), folder.Path, CancellationToken.None);
        return new TestStore(folder, store);
    }

    /// <summary>A second, independent store instance on the same database and blob folder.</summary>
    public Task<DmpStore> OpenSecondInstanceAsync() =>
        DmpStore.OpenAsync(Options, new BlobOptions(), Folder.Path, CancellationToken.None);

    public Task<InboxReceipt> AcceptAsync(InboundFrame frame) => Writer.AppendAsync(frame, Decisions.Accept, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Folder.Dispose();
    }
}

internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "dmp-store-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Frames
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 14, 9, 26, 53, TimeSpan.Zero);

    public static InboundFrame Make(string sender, string? controlId, string body, DateTimeOffset? at = null) =>
        Make(sender, controlId, Encoding.UTF8.GetBytes(body), at);

    public static InboundFrame Make(string sender, string? controlId, byte[] bytes, DateTimeOffset? at = null) =>
        new(
            Channel: "mllp",
            Sender: sender,
            ControlId: controlId,
            MessageType: "ADT^A01",
            FileName: null,
            RemoteEndpoint: "127.0.0.1:40000",
            Raw: bytes,
            Length: bytes.Length,
            Sha256: SHA256.HashData(bytes),
            Truncated: false,
            ReceivedAt: at ?? T0);

    public static string Hl7(string controlId, string extra = "") =>
        $"MSH|^~\\&|GAM|CHU-X|DMP|DMP|20250314092653||ADT^A01|{controlId}|P|2.5\rPID|||123^^^CHU-X||DOE^JOHN{extra}\r";
}

internal static class Decisions
{
    /// <summary>Accepts with an ACK that differs on every call, so a resend answered from storage is recognisable.</summary>
    public static InboxDecision Accept(InboxDecisionContext context) => new(
        InboxStatus.Accepted,
        null,
        context.ControlIdReused ? [InboxWarnings.ControlIdReused] : [],
        Encoding.ASCII.GetBytes($"MSH|^~\\&|DMP|DMP|||20250314||ACK|{Guid.NewGuid():N}|P|2.5\rMSA|AA|{context.Frame.ControlId}\r"),
        "AA");
}
