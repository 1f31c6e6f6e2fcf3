using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Dmp.Store.Tests;

/// <summary>
/// Azurite's blob service (npm, installed by ./test.sh into tests/services) on a free loopback
/// port with its own folder, stopped by its PID at the end of the run.
/// </summary>
public sealed class AzuriteServer : IAsyncLifetime
{
    public const string InstallHint = "Azurite is missing: run ./test.sh (it runs `npm ci` in tests/services), or `cd tests/services && npm ci`";

    // Azurite's documented development account and key (public, the same for every Azurite).
    private const string Account = "devstoreaccount1";
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private Process? _process;
    private string? _folder;

    public int Port { get; private set; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint=http://127.0.0.1:{Port}/{Account};";

    public async Task InitializeAsync()
    {
        var launcher = FindLauncher() ?? throw new InvalidOperationException(InstallHint);
        _folder = Directory.CreateTempSubdirectory("dmp-azurite-").FullName;
        Port = FreePort();
        var start = new ProcessStartInfo(launcher)
        {
            ArgumentList = { "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", _folder, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("cannot start Azurite");
        _ = _process.StandardOutput.ReadToEndAsync();
        var stderr = _process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"Azurite exited {_process.ExitCode}: {await stderr}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(200);
            }
        }
        throw new InvalidOperationException("Azurite did not listen within 60 s");
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        if (_folder is not null)
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string? FindLauncher()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "services", "node_modules", ".bin", "azurite-blob");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One Azurite shared by every Azure Blob test class.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteServer>
{
    public const string Name = "azurite";
}
