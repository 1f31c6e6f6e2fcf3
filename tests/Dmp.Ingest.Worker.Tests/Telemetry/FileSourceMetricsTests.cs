using System.Text;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Ingest.Worker.Tests.Sftp;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>Files count as messages received too: each HL7 v2 message of a file by its type, a CDA document as `CDA`.</summary>
public sealed class FileSourceMetricsTests
{
    [Fact(Timeout = 90_000)]
    public async Task A_drop_folders_HL7_messages_and_CDA_document_are_received_under_the_source_name()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-drop-metrics-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder, "drop-met");
            var poller = gateway.Poller();
            var two = Encoding.ASCII.GetString(Hl7Samples.Adt("FILE-1")) + Encoding.ASCII.GetString(Hl7Samples.Adt("FILE-2"));
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "two.hl7"), two);
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "doc.xml"), "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>cut");
            await poller.PollOnceAsync("drop-met");
            var taken = await poller.PollOnceAsync("drop-met");
            Assert.Equal(2, taken.Taken);

            var scrape = await Scrape.FromAsync(gateway.Anonymous);

            Assert.Equal(2, scrape.Value("dmp_messages_received_total", "channel=drop-met", "sender=drop-met", "type=ADT^A01"));
            Assert.Equal(1, scrape.Value("dmp_messages_received_total", "channel=drop-met", "sender=drop-met", "type=CDA"));
            Assert.Equal(3, scrape.Value("dmp_messages_received_total"));
            // Files are not answered: no ACK is counted.
            Assert.Empty(scrape.Find("dmp_messages_acked_total"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
