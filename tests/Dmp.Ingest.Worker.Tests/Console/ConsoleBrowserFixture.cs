using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// A gateway fed real messages over MLLP and Debian's chromium driven by Playwright (never Playwright's own browser
/// download). A machine without chromium fails these tests with the install step.
/// </summary>
public sealed class ConsoleBrowserFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    internal static readonly string[] ChromiumFlags =
    [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    ];

    private IPlaywright? _playwright;
    private TestGateway? _gateway;

    internal TestGateway Gateway => _gateway!;
    public IBrowser Browser { get; private set; } = null!;
    public string BaseUrl => $"http://{Gateway.Http}";

    /// <summary>Where the tests save their screenshots (the best are copied to docs/screenshots by hand).</summary>
    public static string ScreenshotDir { get; } = Path.Combine(AppContext.BaseDirectory, "console-screenshots");

    public long FailedId { get; private set; }
    public long ProcessedId { get; private set; }

    public async Task InitializeAsync()
    {
        if (!File.Exists(Chromium))
            Assert.Fail($"{Chromium} is missing: the console's browser tests need Debian's chromium (apt-get install -y chromium; ./test.sh installs it through scripts/prerequisites.sh)");
        Directory.CreateDirectory(ScreenshotDir);
        _gateway = await TestGateway.StartAsync();
        await using (var client = await _gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("CONS-OK-1", family: "MARTIN"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("CONS-OK-2", family: "O\\T\\BRIEN"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("CONS-NOPID", withPid: false))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("CONS-REPLAY", withPid: false))).Code);
        }
        FailedId = (await _gateway.SingleAsync("CONS-NOPID")).Id();
        ProcessedId = (await _gateway.SingleAsync("CONS-OK-1")).Id();
        await _gateway.WaitForStatusAsync(FailedId, "failed");
        await _gateway.WaitForStatusAsync((await _gateway.SingleAsync("CONS-REPLAY")).Id(), "failed");
        await _gateway.WaitForStatusAsync(ProcessedId, "processed");

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ChromiumFlags });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.DisposeAsync();
        _playwright?.Dispose();
        if (_gateway is not null)
            await _gateway.DisposeAsync();
    }
}
