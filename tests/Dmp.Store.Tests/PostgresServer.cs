using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Dmp.Store.Tests;

/// <summary>
/// A real PostgreSQL server for the test run: initdb in a temporary folder, started on a free
/// loopback port with fsync on, stopped (by its own pg_ctl) at the end. Each test gets a fresh database.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string InstallHint = "PostgreSQL 15 server binaries are missing: run ./test.sh (it installs them) or `apt-get install -y postgresql`";
    private static readonly string[] BinFolders = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"];
    private string? _bin;
    private string? _root;
    private int _databases;

    public int Port { get; private set; }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Maximum Pool Size=20;Timeout=30";

    public async Task InitializeAsync()
    {
        _bin = BinFolders.FirstOrDefault(f => File.Exists(Path.Combine(f, "initdb")))
            ?? throw new InvalidOperationException(InstallHint);
        _root = Directory.CreateTempSubdirectory("dmp-pg-").FullName;
        await RunAsync("chown", ["-R", "postgres", _root]);
        await AsPostgresAsync(Path.Combine(_bin, "initdb"), ["-D", Path.Combine(_root, "data"), "--auth=trust", "--no-sync", "-U", "postgres", "-E", "UTF8"]);
        Port = FreePort();
        await AsPostgresAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-w", "-t", "60", "-l", Path.Combine(_root, "pg.log"),
            "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {_root} -c fsync=on -c max_connections=200", "start"]);
    }

    /// <summary>A new empty database on the server.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..24];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_bin is not null && _root is not null && Directory.Exists(Path.Combine(_root, "data")))
        {
            await AsPostgresAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_root, "data"), "-m", "immediate", "-w", "stop"], throwOnError: false);
        }
        if (_root is not null)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static Task AsPostgresAsync(string program, string[] args, bool throwOnError = true) =>
        RunAsync("runuser", ["-u", "postgres", "--", program, .. args], throwOnError);

    private static async Task RunAsync(string program, string[] args, bool throwOnError = true)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0 && throwOnError)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}{await stdout}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One PostgreSQL server shared by every PostgreSQL test class.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
