using System.Text;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Ingest.Worker.Tests.Reliability;

/// <summary>
/// A real gateway process logging at Information takes the whole HL7 v2 corpus (valid and malformed)
/// over MLLP; its output must not contain any patient identifier, name or clinical text from it.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class LogPrivacyTests
{
    [Fact]
    public async Task No_identifier_name_or_clinical_text_from_the_corpus_reaches_the_logs()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "TestData");
        var files = Directory.EnumerateFiles(Path.Combine(root, "hl7v2"), "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "malformed")))
            .Where(f => !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        var sensitive = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
            Collect(File.ReadAllBytes(file), sensitive);
        Assert.True(sensitive.Count > 100, $"only {sensitive.Count} sensitive values found in the corpus");

        var dataDir = Directory.CreateTempSubdirectory("dmp-logscan-");
        try
        {
            await using var gateway = await GatewayProcess.StartAsync(dataDir.FullName,
                "--Logging:LogLevel:Default=Information", "--Logging:LogLevel:Microsoft=Information", "--Logging:Console:FormatterName=simple");
            await using (var client = await MllpTestClient.ConnectAsync(gateway.Mllp))
            {
                foreach (var file in files)
                {
                    var bytes = File.ReadAllBytes(file).Where(b => b is not (0x0B or 0x1C)).ToArray();
                    await client.WriteFrameAsync(bytes);
                    try
                    {
                        await client.ReadFrameAsync(TimeSpan.FromSeconds(3));
                    }
                    catch (TimeoutException)
                    {
                        // acknowledgements are not acknowledged back, and MSH-15 NE asks for no answer
                    }
                }
            }

            // Let processing log what it logs, then stop the process so every line is flushed.
            using var api = gateway.OperatorClient();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                var rows = await TestGateway.Messages(api);
                if (rows.Count > 0 && rows.All(r => r.GetProperty("status").GetString() != "accepted"))
                    break;
                await Task.Delay(200);
            }
            await gateway.StopAsync();

            // The gateway names its own folders at start (content root, data folder): those are not patient data.
            var log = string.Join('\n', gateway.Lines)
                .Replace(AppContext.BaseDirectory.TrimEnd('/'), "<bin>", StringComparison.Ordinal)
                .Replace(dataDir.FullName, "<data>", StringComparison.Ordinal);
            Assert.Contains("info", log, StringComparison.Ordinal); // it did log at Information
            var leaks = sensitive.Where(s => log.Contains(s, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            Assert.True(leaks.Count == 0, "found in the logs: " + string.Join(", ", leaks.Take(20)));
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }

    /// <summary>PID-3 identifiers, PID-5 names, and text results (OBX-5 of ST/TX/FT, NTE-3) long enough to mean something.</summary>
    private static void Collect(byte[] bytes, HashSet<string> into)
    {
        foreach (var part in Hl7Batch.Split(bytes).Messages)
        {
            if (Hl7Message.Parse(part).Message is not { } message)
                continue;
            foreach (var pid in message.SegmentsNamed("PID"))
            {
                var ids = pid.GetField(3);
                for (var r = 1; r <= ids.RepetitionCount; r++)
                    Add(into, ids.GetRepetition(r).GetComponent(1).ValueOrNull, 5, needDigit: true);
                var names = pid.GetField(5);
                for (var r = 1; r <= names.RepetitionCount; r++)
                {
                    Add(into, names.GetRepetition(r).GetComponent(1).ValueOrNull, 4);
                    Add(into, names.GetRepetition(r).GetComponent(2).ValueOrNull, 4);
                }
            }
            foreach (var obx in message.SegmentsNamed("OBX"))
                if (obx.GetValue(2) is "ST" or "TX" or "FT")
                    Add(into, obx.GetField(5).GetRepetition(1).ValueOrNull, 10);
            foreach (var nte in message.SegmentsNamed("NTE"))
                Add(into, nte.GetField(3).GetRepetition(1).ValueOrNull, 10);
        }
    }

    private static void Add(HashSet<string> into, string? value, int minLength, bool needDigit = false)
    {
        value = value?.Trim();
        if (value is null || value.Length < minLength || (needDigit && !value.Any(char.IsDigit)))
            return;
        into.Add(value.Length > 40 ? value[..40] : value);
    }
}
