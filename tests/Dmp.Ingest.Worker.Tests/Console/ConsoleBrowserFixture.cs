using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>A gateway fed real messages over MLLP, and chromium (<see cref="ConsoleChromium"/>).</summary>
public sealed class ConsoleBrowserFixture : IAsyncLifetime
{
    private ConsoleChromium? _chromium;
    private TestGateway? _gateway;

    internal TestGateway Gateway => _gateway!;
    public IBrowser Browser => _chromium!.Browser;
    public string BaseUrl => $"http://{Gateway.Http}";

    public long FailedId { get; private set; }
    public long ProcessedId { get; private set; }

    public async Task InitializeAsync()
    {
        ConsoleChromium.Require();
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

        _chromium = await ConsoleChromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
            await _chromium.DisposeAsync();
        if (_gateway is not null)
            await _gateway.DisposeAsync();
    }
}
