using System.Text;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>
/// `Dmp:Sftp:Sources:N:Facilities`: an HL7 v2 file whose MSH-4.1 its source may not speak for is stored rejected; a
/// CDA file (no MSH-4) is bound by its folder. Every row records the source's name as senderName.
/// </summary>
public sealed class DropFolderFacilityTests
{
    [Fact(Timeout = 90_000)]
    public async Task An_HL7_file_from_a_facility_the_source_may_not_speak_for_is_stored_rejected_and_others_are_taken()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-drop-facility-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder, "lab-drop", new Dictionary<string, string?>
            {
                ["Dmp:Sftp:Sources:0:Facilities:0"] = "LAB",
            });
            var poller = gateway.Poller();
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "lab.hl7"), From("LAB", "FILE-LAB"));
            // A file of two messages: each is judged on its own MSH-4.
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "mixed.hl7"), [.. From("EVIL-ORG", "FILE-EVIL"), .. From("LAB", "FILE-LAB-2")]);
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "doc.xml"), "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>t</title></ClinicalDocument>");

            await poller.PollOnceAsync("lab-drop");
            var taken = await poller.PollOnceAsync("lab-drop");

            Assert.Equal(3, taken.Taken);
            var evil = await gateway.SingleAsync("FILE-EVIL");
            Assert.Equal(("rejected", "lab-drop", "lab-drop/APP|EVIL-ORG"), (evil.Str("status"), evil.Str("senderName"), evil.Str("sender")));
            Assert.Equal("facility EVIL-ORG is not allowed for sender lab-drop", evil.Str("error"));
            foreach (var controlId in new[] { "FILE-LAB", "FILE-LAB-2" })
            {
                var lab = await gateway.SingleAsync(controlId);
                Assert.NotEqual("rejected", lab.Str("status"));
                Assert.Equal("lab-drop", lab.Str("senderName"));
            }
            var cda = await gateway.SingleAsync("doc.xml");
            Assert.Equal("lab-drop", cda.Str("senderName"));
            Assert.DoesNotContain("facility", cda.Str("error") ?? "", StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_source_without_Facilities_takes_any_facility_and_still_records_its_name()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-drop-any-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder);
            var poller = gateway.Poller();
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "any.hl7"), From("ANY-ORG", "FILE-ANY"));

            await poller.PollOnceAsync("drop");
            await poller.PollOnceAsync("drop");

            var row = await gateway.SingleAsync("FILE-ANY");
            Assert.NotEqual("rejected", row.Str("status"));
            Assert.Equal("drop", row.Str("senderName"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static byte[] From(string facility, string controlId) =>
        Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Hl7Samples.Adt(controlId)).Replace("|APP|FAC|", $"|APP|{facility}|", StringComparison.Ordinal));
}
