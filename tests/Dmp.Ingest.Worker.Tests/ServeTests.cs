using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dmp.Ingest.Worker.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests;

[Trait("Tier", "Slow")]
public sealed class ServeTests
{
    [Fact]
    public async Task Health_endpoints_answer_on_the_configured_port()
    {
        var dataDir = Directory.CreateTempSubdirectory("dmp-serve-");
        await using var app = GatewayHost.Build(new Dictionary<string, string?>
        {
            ["Dmp:Http:Port"] = "0",
            ["Dmp:Mllp:Port"] = "0",
            ["Dmp:DataDir"] = dataDir.FullName,
        });
        await app.StartAsync();
        try
        {
            var endpoints = app.Services.GetRequiredService<ListenerEndpoints>();
            Assert.Equal(IPAddress.Loopback, endpoints.HttpEndPoint!.Address);
            Assert.NotEqual(0, endpoints.HttpEndPoint.Port);
            Assert.NotEqual(0, endpoints.MllpEndPoint!.Port);
            var address = $"http://{endpoints.HttpEndPoint}";
            using var http = new HttpClient { BaseAddress = new Uri(address) };

            var live = await http.GetAsync("/health/live");
            var ready = await http.GetAsync("/health/ready");
            var anonymous = await http.GetAsync("/api/messages");

            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());
            // /health/ready names each check (ReadinessTests has the failures).
            Assert.Equal("Healthy", System.Text.Json.JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            await app.StopAsync();
            dataDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_invalid_port_is_refused_at_start_naming_the_setting()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=70000");

        Assert.Equal(64, code);
        Assert.Contains("Dmp:Http:Port", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_process_serves_health_and_stops_cleanly()
    {
        var port = FreePort();
        var dataDir = Directory.CreateTempSubdirectory("dmp-proc-");
        var worker = Path.Combine(AppContext.BaseDirectory, "Dmp.Ingest.Worker.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { worker, $"--Dmp:Http:Port={port}", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={dataDir.FullName}", $"--Dmp:Rules:Path={Path.Combine(AppContext.BaseDirectory, "mappings")}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDir.FullName,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            HttpStatusCode? status = null;
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    status = (await http.GetAsync("/health/ready")).StatusCode;
                    break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    await Task.Delay(200);
                }
            }
            if (process.HasExited)
                Assert.Fail("the gateway exited: " + await stderr);
            Assert.Equal(HttpStatusCode.OK, status);

            // SIGTERM, as a service manager stops it: a clean shutdown with exit code 0.
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await term.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("HTTP API listening on http://127.0.0.1:" + port, await stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            dataDir.Delete(recursive: true);
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
