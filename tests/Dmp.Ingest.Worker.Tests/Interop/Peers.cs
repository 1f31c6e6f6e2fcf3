using System.Diagnostics;
using System.Text;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>
/// Where the third-party peers are: Node with simple-hl7 (tests/peers) and `openssl`. A missing peer
/// fails the test with the install step; it never skips.
/// </summary>
internal static class Peers
{
    private const string InstallNode = "run ./test.sh, which installs it (apt-get install -y nodejs npm, then npm ci in tests/peers)";

    /// <summary>tests/peers in the repository (found upwards from the test binaries, or DMP_TEST_PEERS).</summary>
    public static string Directory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DMP_TEST_PEERS") is { Length: > 0 } configured)
                return configured;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "peers");
                if (File.Exists(Path.Combine(candidate, "package.json")))
                    return candidate;
            }
            Assert.Fail("tests/peers/package.json not found above " + AppContext.BaseDirectory + " (set DMP_TEST_PEERS to the folder)");
            return null!;
        }
    }

    /// <summary>The `node` executable, with simple-hl7 installed beside the peer scripts.</summary>
    public static string Node()
    {
        var node = FindOnPath("node");
        if (node is null)
            Assert.Fail("node is not installed: " + InstallNode);
        if (!File.Exists(Path.Combine(Directory, "node_modules", "simple-hl7", "package.json")))
            Assert.Fail($"simple-hl7 is not installed in {Directory}: run ./test.sh, or (cd tests/peers && npm ci)");
        return node!;
    }

    public static string Script(string name) => Path.Combine(Directory, name);

    /// <summary>The `openssl` command-line tool (Debian package openssl).</summary>
    public static string OpenSsl()
    {
        var openssl = FindOnPath("openssl");
        if (openssl is null)
            Assert.Fail("openssl is not installed: run ./test.sh, which installs it (apt-get install -y openssl)");
        return openssl!;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
                return path;
        }
        return null;
    }
}

/// <summary>
/// An external process with its output collected line by line. Disposing it kills it (by its PID,
/// with its children) when it is still running.
/// </summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _lineArrived = new(0);
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PeerProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public static PeerProcess Start(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var peer = new PeerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                peer._stdoutClosed.TrySetResult();
                peer._lineArrived.Release();
                return;
            }
            lock (peer._stdout)
                peer._stdout.Add(e.Data);
            peer._lineArrived.Release();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (peer._stderr)
                peer._stderr.AppendLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    public Stream StandardInput => _process.StandardInput.BaseStream;

    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_stdout)
                return [.. _stdout];
        }
    }

    public string Stdout => string.Join('\n', StdoutLines);

    public string Stderr
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    /// <summary>The first stdout line matching, or null when the process ended or the time ran out first.</summary>
    public async Task<string?> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = StdoutLines.FirstOrDefault(match);
            if (found is not null)
                return found;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _stdoutClosed.Task.IsCompleted)
                return null;
            await _lineArrived.WaitAsync(left);
        }
    }

    /// <summary>Waits for the exit; fails the test when it takes longer than <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{_process.StartInfo.FileName} (pid {_process.Id}) still running after {timeout.TotalSeconds} s; stdout: {Stdout}; stderr: {Stderr}");
        }
        await _stdoutClosed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        return _process.ExitCode;
    }

    public void CloseStandardInput() => _process.StandardInput.Close();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended meanwhile.
        }
        finally
        {
            _process.Dispose();
            _lineArrived.Dispose();
        }
    }
}
