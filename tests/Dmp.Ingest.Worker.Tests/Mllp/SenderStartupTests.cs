using Dmp.Ingest.Worker.Cli;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>MLLP beyond loopback needs a sender list, or an explicit `Dmp:Mllp:AllowAnySender=true`.</summary>
public sealed class SenderStartupTests
{
    [Fact]
    [Trait("Tier", "Slow")]
    public async Task Listening_on_all_addresses_without_senders_is_one_line_naming_the_keys_and_exit_64()
    {
        var data = Directory.CreateTempSubdirectory("dmp-senders-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", "--Dmp:Mllp:Host=0.0.0.0", $"--Dmp:DataDir={data.FullName}");

            Assert.Equal(ExitCodes.Usage, code);
            var line = Assert.Single(stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: invalid configuration: Dmp:Mllp:Host is 0.0.0.0 (not loopback)", line, StringComparison.Ordinal);
            Assert.Contains("Dmp:Mllp:Senders", line, StringComparison.Ordinal);
            Assert.Contains("Dmp:Mllp:AllowAnySender=true", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task In_process_the_same_start_fails_with_the_options_error()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:Host"] = "0.0.0.0" }));

        Assert.Contains("Dmp:Mllp:AllowAnySender", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Dmp:Mllp:AllowAnySender", "true")]
    [InlineData("Dmp:Mllp:Senders:0:Name", "here")]
    public async Task Listening_on_all_addresses_starts_with_AllowAnySender_or_a_sender_list(string key, string value)
    {
        var settings = new Dictionary<string, string?> { ["Dmp:Mllp:Host"] = "0.0.0.0", [key] = value };
        if (key.Contains("Senders", StringComparison.Ordinal))
        {
            settings["Dmp:Mllp:Senders:0:Addresses:0"] = "127.0.0.0/8";
            settings["Dmp:Mllp:Senders:0:Facilities:0"] = "FAC";
        }
        await using var gateway = await TestGateway.StartAsync(settings);
        await using var client = await MllpTestClient.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, gateway.Mllp.Port));

        var ack = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("ALL-ADDRESSES")));

        Assert.Equal("AA", ack.Code);
        Assert.Equal(key.Contains("Senders", StringComparison.Ordinal) ? "here" : null, (await gateway.SingleAsync("ALL-ADDRESSES")).Str("senderName"));
    }
}
