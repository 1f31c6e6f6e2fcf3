using Dmp.Ingest.Worker.Sftp;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>A drop-folder file is archived once stored; if its message then fails, the next poll moves it to error/.</summary>
public sealed class DropFolderOutcomeTests
{
    [Fact(Timeout = 90_000)]
    public async Task A_file_whose_message_fails_moves_from_archive_to_error_with_its_reason()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-drop-outcome-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder);
            var poller = gateway.Poller();
            // Well-formed enough to be stored (it looks like XML), broken for the CDA reader: processing fails.
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "broken.xml"), "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>cut");
            await poller.PollOnceAsync("drop");
            var taken = await poller.PollOnceAsync("drop");
            Assert.Equal((1, 1), (taken.Taken, taken.Archived));
            var row = Assert.Single(await gateway.MessagesAsync(), r => r.Str("channel") == "drop");
            var done = await gateway.WaitForStatusAsync(row.Id(), "failed", "rejected", "processed");
            Assert.True(done.Str("status") is "failed" or "rejected", $"the broken file should fail: {done}");

            var next = await poller.PollOnceAsync("drop");

            Assert.Equal(1, next.SetAside);
            Assert.False(File.Exists(Path.Combine(folder.FullName, "archive", "broken.xml")));
            Assert.True(File.Exists(Path.Combine(folder.FullName, "error", "broken.xml")));
            var reason = await File.ReadAllTextAsync(Path.Combine(folder.FullName, "error", "broken.xml" + FilePoller.ReasonSuffix));
            Assert.Contains($"message {row.Id()}: {done.Str("status")}", reason, StringComparison.Ordinal);
            // Once set aside it is not looked at again.
            Assert.Equal(0, (await poller.PollOnceAsync("drop")).SetAside);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
