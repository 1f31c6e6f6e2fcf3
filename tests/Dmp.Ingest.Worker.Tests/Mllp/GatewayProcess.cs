using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Auth;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>
/// The real gateway executable as a child process on free ports (0), with a given data folder. Its
/// stdout and stderr are collected line by line as they come (never awaited to their end while it lives).
/// </summary>
internal sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GatewayProcess(Process process) => _process = process;

    public IPEndPoint Mllp { get; private set; } = null!;
    public Uri Http { get; private set; } = null!;
    public IReadOnlyCollection<string> Lines => _lines;
    public bool HasExited => _process.HasExited;

    public static async Task<GatewayProcess> StartAsync(string dataDir, params string[] settings)
    {
        var worker = Path.Combine(AppContext.BaseDirectory, "Dmp.Ingest.Worker.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDir,
        };
        foreach (var arg in (string[])[worker, "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={dataDir}", $"--Dmp:Auth:SigningKey={TestGateway.SigningKey}",
                     // Run from the data folder: the rules are named, as a deployment names them (no copy beside the executable is read).
                     $"--Dmp:Rules:Path={Path.Combine(AppContext.BaseDirectory, "mappings")}", .. settings])
            start.ArgumentList.Add(arg);
        var process = new Process { StartInfo = start };
        var gateway = new GatewayProcess(process);
        process.OutputDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await gateway._listening.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await gateway.DisposeAsync();
            Assert.Fail("the gateway process did not announce its listeners:\n" + string.Join('\n', gateway._lines));
        }
        if (gateway.Mllp is null || gateway.Http is null)
        {
            await gateway.DisposeAsync();
            Assert.Fail("the gateway process exited before listening:\n" + string.Join('\n', gateway._lines));
        }
        return gateway;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _listening.TrySetResult(); // exited: StartAsync's caller sees the missing endpoints
            return;
        }
        _lines.Enqueue(line);
        if (HttpLine().Match(line) is { Success: true } http)
            Http = new Uri("http://127.0.0.1:" + http.Groups[1].Value);
        if (MllpLine().Match(line) is { Success: true } mllp)
            Mllp = new IPEndPoint(IPAddress.Loopback, int.Parse(mllp.Groups[1].Value, CultureInfo.InvariantCulture));
        if (Http is not null && Mllp is not null)
            _listening.TrySetResult();
    }

    public HttpClient OperatorClient()
    {
        Assert.True(Http is not null, "the gateway process is not listening:\n" + string.Join('\n', _lines));
        var client = new HttpClient { BaseAddress = Http, Timeout = TestGateway.Patience };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.Token(DmpClaims.Operator));
        return client;
    }

    /// <summary>kill -9: no shutdown, no flush.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        using var timeout = new CancellationTokenSource(TestGateway.Patience);
        await _process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>SIGTERM and wait for a clean exit (logs flushed).</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TestGateway.Patience);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            _process.Dispose();
        }
    }

    [GeneratedRegex(@"HTTP API listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex HttpLine();

    [GeneratedRegex(@"MLLP listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex MllpLine();
}
