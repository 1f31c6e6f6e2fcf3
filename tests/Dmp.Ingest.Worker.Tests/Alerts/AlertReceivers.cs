using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Alerts;

/// <summary>
/// A real HTTP server on loopback (Kestrel) that keeps every webhook POST it accepts. It answers 503 to the first
/// <c>failFirst</c> requests, so the notifier's retries are exercised.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _failuresLeft;
    private int _requests;

    private WebhookReceiver(WebApplication app, int failFirst)
    {
        _app = app;
        _failuresLeft = failFirst;
    }

    /// <summary>Bodies accepted (2xx), in arrival order.</summary>
    public ConcurrentQueue<JsonElement> Accepted { get; } = new();

    /// <summary>Every request, refused ones included.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public string Url { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync(int failFirst = 0)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, failFirst);
        app.UseRouting();
        app.MapPost("/hook", async (HttpContext http) =>
        {
            Interlocked.Increment(ref receiver._requests);
            var body = await JsonDocument.ParseAsync(http.Request.Body);
            if (Interlocked.Decrement(ref receiver._failuresLeft) >= 0)
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            receiver.Accepted.Enqueue(body.RootElement.Clone());
            return Results.NoContent();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = address.TrimEnd('/') + "/hook";
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// A real SMTP server on loopback: Debian's aiosmtpd, started as a process, printing each message it receives.
/// A missing package fails the test with the install step.
/// </summary>
internal sealed class SmtpServer : IAsyncDisposable
{
    public const string InstallHint = "the SMTP test server is missing: run ./test.sh (it installs it) or `apt-get install -y python3-aiosmtpd`";
    private const string Python = "/usr/bin/python3";
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SmtpServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What the server printed so far: every received message, headers and body.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>Subjects of the messages received, in order.</summary>
    public IReadOnlyList<string> Subjects =>
        Output.Split('\n').Where(l => l.StartsWith("Subject: ", StringComparison.Ordinal)).Select(l => l["Subject: ".Length..].Trim()).ToList();

    public static async Task<SmtpServer> StartAsync()
    {
        if (!File.Exists(Python) || !Directory.Exists("/usr/lib/python3/dist-packages/aiosmtpd"))
            throw new InvalidOperationException(InstallHint);
        var port = FreePort();
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}" })
            start.ArgumentList.Add(arg);
        start.Environment["PYTHONUNBUFFERED"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start aiosmtpd");
        var server = new SmtpServer(process, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"aiosmtpd did not listen on 127.0.0.1:{port}: {server.Output}");
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.Append(line).Append('\n');
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        _process.Dispose();
    }
}
