namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>`Dmp:Mllp:AckMode=Processed`: the ACK waits for mapping, and says when it failed.</summary>
public sealed class ProcessedAckTests
{
    private static Task<TestGateway> StartAsync() => TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:AckMode"] = "Processed" });

    [Fact]
    public async Task A_valid_message_is_acknowledged_once_it_is_processed()
    {
        await using var gateway = await StartAsync();
        await using var client = await gateway.ConnectAsync();

        var answer = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("PROC-1")));

        Assert.Equal(("AA", "PROC-1"), (answer.Code, answer.ControlId));
        var row = await gateway.SingleAsync("PROC-1");
        Assert.Equal("processed", row.Str("status"));   // already processed when the ACK left
        Assert.Equal("AA", row.Str("ackCode"));
    }

    [Fact]
    public async Task A_message_whose_mapping_fails_gets_AE_with_an_ERR_saying_why()
    {
        await using var gateway = await StartAsync();
        await using var client = await gateway.ConnectAsync();

        var answer = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("PROC-NOPID", withPid: false)));

        Assert.Equal(("AE", "PROC-NOPID"), (answer.Code, answer.ControlId));
        Assert.True(answer.HasErr);
        Assert.Contains("PID", answer.Raw, StringComparison.Ordinal);
        var row = await gateway.SingleAsync("PROC-NOPID");
        Assert.Equal("failed", row.Str("status"));
        Assert.Equal("AE", row.Str("ackCode"));
    }

    [Fact]
    public async Task A_resend_gets_the_very_same_processed_ack()
    {
        await using var gateway = await StartAsync();
        await using var client = await gateway.ConnectAsync();
        var message = Hl7Samples.Adt("PROC-RESEND");

        var first = await client.SendAsync(message);
        var second = await client.SendAsync(message);

        Assert.Equal("AA", Hl7Samples.ReadAck(first).Code);
        Assert.Equal(first, second);
        Assert.Equal(2, (await gateway.SingleAsync("PROC-RESEND")).GetProperty("receipts").GetInt32());
    }

    [Fact]
    public async Task Garbage_is_still_refused_at_once_with_AR()
    {
        await using var gateway = await StartAsync();
        await using var client = await gateway.ConnectAsync();

        var answer = Hl7Samples.ReadAck(await client.SendAsync("not an HL7 message"u8.ToArray()));

        Assert.Equal("AR", answer.Code);
    }
}
