using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Mapping.Hl7v2;
using Dmp.Mapping.Tests.Fuzz;

namespace Dmp.Ingest.Worker.Tests.Reliability;

/// <summary>
/// 1,000 mutated corpus messages through the live MLLP listener: each frame is answered, each
/// distinct input is stored once and ends with a status, and the listener keeps serving.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class ListenerFuzzTests
{
    private const int Inputs = 1000;
    private const int Connections = 4;
    private static readonly string[] Outcomes = ["processed", "ignored", "held", "refused-by-patient", "failed", "rejected"];

    [Fact]
    public async Task Mutated_frames_are_each_answered_and_stored_once_with_a_final_status()
    {
        var corpus = CorpusMutations.LoadCorpus(Path.Combine(AppContext.BaseDirectory, "TestData"))
            .Where(c => c.Name.StartsWith("hl7v2", StringComparison.Ordinal) && !IsAck(c.Bytes))
            .Select(c => (c.Name, OriginalMode(c.Bytes)))
            .ToList();
        var mutations = new CorpusMutations(corpus, 4242);
        // MLLP cannot carry its own framing bytes inside a frame: take them out, so one input is one frame.
        var payloads = Enumerable.Range(0, Inputs)
            .Select(i => mutations.Input(i))
            .Select(m => (m.Description, Bytes: m.Bytes.Where(b => b is not (0x0B or 0x1C)).ToArray()))
            .Where(m => m.Bytes.Length > 0)
            .ToList();

        await using var gateway = await TestGateway.StartAsync();
        var unanswered = new List<string>();
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(async c =>
        {
            var client = await gateway.ConnectAsync();
            try
            {
                for (var i = c; i < payloads.Count; i += Connections)
                {
                    await client.WriteFrameAsync(payloads[i].Bytes);
                    byte[]? answer;
                    try
                    {
                        answer = await client.ReadFrameAsync(AnswerNotExpected(payloads[i].Bytes) ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(20));
                    }
                    catch (TimeoutException)
                    {
                        answer = null;
                    }
                    if (answer is null)
                    {
                        if (!AnswerNotExpected(payloads[i].Bytes))
                            lock (unanswered)
                                unanswered.Add($"input {i}: {payloads[i].Description}");
                        await client.DisposeAsync();
                        client = await gateway.ConnectAsync();
                    }
                }
            }
            finally
            {
                await client.DisposeAsync();
            }
        }));
        Assert.True(unanswered.Count == 0, "frames without an answer:\n" + string.Join('\n', unanswered));

        // The same bytes twice are one row; different bytes are different rows.
        var distinct = payloads.Select(p => Hl7Samples.Sha256Hex(p.Bytes)).Distinct().Count();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        IReadOnlyList<System.Text.Json.JsonElement> rows;
        while (true)
        {
            rows = await gateway.MessagesAsync();
            if (rows.All(r => r.GetProperty("status").GetString() != "accepted") || DateTime.UtcNow > deadline)
                break;
            await Task.Delay(200);
        }
        Assert.Equal(distinct, rows.Count);
        Assert.Equal(distinct, rows.Select(r => r.GetProperty("sha256").GetString()!.ToUpperInvariant()).Distinct().Count());
        Assert.All(rows, r => Assert.Contains(r.GetProperty("status").GetString(), Outcomes));
        Assert.All(rows.Where(r => r.GetProperty("status").GetString() is "failed" or "rejected"),
            r => Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("error").GetString()), $"no error on {r}"));

        // And the listener still serves a well-formed message.
        await using var after = await gateway.ConnectAsync();
        var ack = Hl7Samples.ReadAck(await after.SendAsync(Hl7Samples.Adt("AFTER-FUZZ")));
        Assert.Equal(("AA", "AFTER-FUZZ"), (ack.Code, ack.ControlId));
    }

    private static bool IsAck(byte[] bytes) =>
        Hl7Message.Parse(bytes) is { Message: { } m } && m.MessageType is "ACK" or "ZAM" or "MCF";

    /// <summary>
    /// Acknowledgements (ACK, ZAM, MCF) are not acknowledged back, and enhanced mode lets a sender ask for no accept
    /// acknowledgement (MSH-15 NE, or ER when all went well): anything else must be answered.
    /// </summary>
    private static bool AnswerNotExpected(byte[] bytes) =>
        Hl7Message.Parse(bytes) is { Message: { } m } && (m.MessageType is "ACK" or "ZAM" or "MCF" || m.AcceptAckType is "NE" or "ER");

    /// <summary>The seed with MSH-15 and MSH-16 emptied (original acknowledgement mode), so that each input asks for an answer.</summary>
    private static byte[] OriginalMode(byte[] bytes)
    {
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        var start = text.IndexOf("MSH", StringComparison.Ordinal);
        if (start < 0 || text.Length < start + 4)
            return bytes;
        var end = text.IndexOfAny(['\r', '\n'], start);
        end = end < 0 ? text.Length : end;
        var fields = text[start..end].Split(text[start + 3]);
        for (var i = 14; i <= 15 && i < fields.Length; i++)
            fields[i] = "";
        return System.Text.Encoding.Latin1.GetBytes(text[..start] + string.Join(text[start + 3], fields) + text[end..]);
    }
}
