using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Ingest.Worker.Sftp;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>A real sshd and an in-process gateway with one SFTP source on it (polls driven by the test unless PollSeconds is small).</summary>
internal sealed class SftpHarness : IAsyncDisposable
{
    public const string Source = "radiologie-test";

    private SftpHarness(SshdServer sshd, TestGateway gateway)
    {
        Sshd = sshd;
        Gateway = gateway;
    }

    public SshdServer Sshd { get; }
    public TestGateway Gateway { get; }
    public FilePoller Poller => Gateway.Services.GetRequiredService<FilePoller>();
    public FileSourceOptions Options => Poller.Sources.Single();
    public string In => Sshd.In;
    public string Archive => Path.Combine(Sshd.In, FilePoller.ArchiveFolder);
    public string Error => Path.Combine(Sshd.In, FilePoller.ErrorFolder);

    public static async Task<SftpHarness> StartAsync(Dictionary<string, string?>? source = null)
    {
        var sshd = await SshdServer.StartAsync();
        try
        {
            var settings = new Dictionary<string, string?>
            {
                ["Dmp:Sftp:Sources:0:Name"] = Source,
                ["Dmp:Sftp:Sources:0:Host"] = "127.0.0.1",
                ["Dmp:Sftp:Sources:0:Port"] = sshd.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Dmp:Sftp:Sources:0:User"] = sshd.User,
                ["Dmp:Sftp:Sources:0:PrivateKeyPath"] = sshd.ClientKey,
                ["Dmp:Sftp:Sources:0:HostKeySha256"] = sshd.HostKeySha256,
                ["Dmp:Sftp:Sources:0:RemoteFolder"] = sshd.In,
                // The schedule stays out of the way: tests call PollOnceAsync themselves.
                ["Dmp:Sftp:Sources:0:PollSeconds"] = "3600",
                ["Dmp:Sftp:Sources:0:ConnectTimeoutSeconds"] = "10",
            };
            foreach (var (key, value) in source ?? [])
                settings["Dmp:Sftp:Sources:0:" + key] = value;
            var gateway = await TestGateway.StartAsync(settings);
            return new SftpHarness(sshd, gateway);
        }
        catch
        {
            await sshd.DisposeAsync();
            throw;
        }
    }

    /// <summary>A poller of the same source, as after a restart, with its own factory and logger.</summary>
    public FilePoller NewPoller(IFileSourceFactory? factory = null, ILogger<FilePoller>? logger = null, Action<FileSourceOptions>? change = null)
    {
        var services = Gateway.Services;
        var options = services.GetRequiredService<IOptions<SftpOptions>>().Value;
        var copy = new SftpOptions { Sources = options.Sources.Select(s => Clone(s, change)).ToList() };
        return new FilePoller(
            services.GetRequiredService<InboundReceiver>(),
            Microsoft.Extensions.Options.Options.Create(copy),
            factory ?? services.GetRequiredService<IFileSourceFactory>(),
            new FileOutcomeWatch(services.GetRequiredService<Dmp.Ingest.Worker.Hosting.StoreLifetime>(), services.GetRequiredService<ILogger<FileOutcomeWatch>>()),
            logger ?? services.GetRequiredService<ILogger<FilePoller>>());
    }

    private static FileSourceOptions Clone(FileSourceOptions s, Action<FileSourceOptions>? change)
    {
        var c = new FileSourceOptions
        {
            Name = s.Name, Kind = s.Kind, Host = s.Host, Port = s.Port, User = s.User, PrivateKeyPath = s.PrivateKeyPath,
            HostKeySha256 = s.HostKeySha256, RemoteFolder = s.RemoteFolder, Path = s.Path, Pattern = s.Pattern,
            PollSeconds = s.PollSeconds, Schedule = s.Schedule, AfterIngest = s.AfterIngest, StableBy = s.StableBy,
            ConnectTimeoutSeconds = s.ConnectTimeoutSeconds,
        };
        change?.Invoke(c);
        return c;
    }

    /// <summary>Rows brought by this source (channel = its name), newest first.</summary>
    public async Task<IReadOnlyList<JsonElement>> RowsAsync() =>
        (await Gateway.MessagesAsync()).Where(r => r.Str("channel") == Source).ToList();

    public static string[] Names(string folder) =>
        Directory.Exists(folder) ? Directory.GetFiles(folder).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray() : [];

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Gateway.DisposeAsync();
        }
        finally
        {
            await Sshd.DisposeAsync();
        }
    }
}

/// <summary>Small HL7 v2 messages and corpus files for the SFTP tests.</summary>
internal static class SftpSamples
{
    public static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    public static byte[] Adt(string controlId, string app = "RIS", string facility = "CENTRE-IMG") =>
        Encoding.ASCII.GetBytes(
            $"MSH|^~\\&|{app}|{facility}|DMP|DMP|20260101120000||ADT^A01^ADT_A01|{controlId}|P|2.5\r" +
            "EVN|A01|20260101120000\r" +
            $"PID|1||{controlId}^^^CENTRE-IMG^PI||TEST^PATIENT||19700101|M\r" +
            "PV1|1|O\r");
}

/// <summary>Collects log lines (message text only) for assertions.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>Wraps the real factory; the first <c>failMoves</c> moves throw, as a crash between commit and move would leave things.</summary>
internal sealed class FailingMoveFactory(IFileSourceFactory inner, int failMoves) : IFileSourceFactory
{
    private int _left = failMoves;

    public async Task<IFileSource> OpenAsync(FileSourceOptions source, CancellationToken cancellationToken) =>
        new Wrapper(await inner.OpenAsync(source, cancellationToken), this);

    private sealed class Wrapper(IFileSource inner, FailingMoveFactory owner) : IFileSource
    {
        public string Endpoint => inner.Endpoint;
        public Task<IReadOnlyList<SourceFile>> ListAsync(string folder, CancellationToken ct) => inner.ListAsync(folder, ct);
        public Task<bool> ExistsAsync(string path, CancellationToken ct) => inner.ExistsAsync(path, ct);
        public Task<byte[]> ReadAsync(string path, CancellationToken ct) => inner.ReadAsync(path, ct);
        public Task WriteTextAsync(string path, string text, CancellationToken ct) => inner.WriteTextAsync(path, text, ct);
        public Task EnsureFolderAsync(string folder, CancellationToken ct) => inner.EnsureFolderAsync(folder, ct);
        public Task DeleteAsync(string path, CancellationToken ct) => inner.DeleteAsync(path, ct);
        public ValueTask DisposeAsync() => inner.DisposeAsync();

        public Task MoveAsync(string from, string to, CancellationToken ct) =>
            Interlocked.Decrement(ref owner._left) >= 0
                ? throw new IOException("simulated crash between the inbox commit and the move")
                : inner.MoveAsync(from, to, ct);
    }
}
