using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Sftp;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>
/// A discharge summary not yet validated by its author is held; its validated version (RPLC, same setId)
/// is processed and the draft becomes ignored — end to end through a drop folder and the processing worker.
/// </summary>
public sealed class HeldDocumentTests
{
    private const string DraftId = "1.2.250.1.213.1.1.1.29.2022.1.1";
    private const string ValidatedId = "1.2.250.1.213.1.1.1.29.2022.1.2";

    [Fact]
    public async Task An_unvalidated_discharge_summary_is_held_until_its_validated_version_supersedes_it()
    {
        var original = await File.ReadAllTextAsync(SftpSamples.TestData("cda", "french", "ans-cisis_LDL-SES_2022.01.xml"));
        Assert.Contains("<legalAuthenticator>", original, StringComparison.Ordinal);
        Assert.Contains($"<id root=\"{DraftId}\"/>", original, StringComparison.Ordinal);

        // The draft: the same letter before the doctor signed it.
        var draft = Regex.Replace(original, "<legalAuthenticator>.*?</legalAuthenticator>", "", RegexOptions.Singleline);
        Assert.DoesNotContain("legalAuthenticator", draft, StringComparison.Ordinal);

        // The validated version: a new id, version 2 of the same set, replacing the draft.
        var validated = original
            .Replace($"<id root=\"{DraftId}\"/>", $"<id root=\"{ValidatedId}\"/>", StringComparison.Ordinal)
            .Replace("<versionNumber value=\"1\"/>", "<versionNumber value=\"2\"/>", StringComparison.Ordinal)
            .Replace("<componentOf>",
                $"<relatedDocument typeCode=\"RPLC\"><parentDocument><id root=\"{DraftId}\"/></parentDocument></relatedDocument>\n    <componentOf>",
                StringComparison.Ordinal);
        Assert.Contains("<versionNumber value=\"2\"/>", validated, StringComparison.Ordinal);
        Assert.Contains("typeCode=\"RPLC\"", validated, StringComparison.Ordinal);

        var folder = Directory.CreateTempSubdirectory("dmp-held-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder, "ldl");
            var poller = gateway.Poller();

            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "ldl-draft.xml"), draft, new UTF8Encoding(false));
            await TakeAsync(poller);
            var draftRow = Assert.Single(await gateway.MessagesAsync("controlId=ldl-draft.xml"));
            var held = await gateway.WaitForStatusAsync(draftRow.Id(), "held", "processed", "failed");
            Assert.True(held.Str("status") == "held", "the unvalidated draft should be held: " + held);
            Assert.Null(held.Str("error"));
            Assert.Equal(
                $"document urn:oid:{DraftId} is not validated by its author: held until its validated version arrives",
                LastHistory(held).Detail);

            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "ldl-validated.xml"), validated, new UTF8Encoding(false));
            await TakeAsync(poller);
            var validatedRow = Assert.Single(await gateway.MessagesAsync("controlId=ldl-validated.xml"));
            var processed = await gateway.WaitForStatusAsync(validatedRow.Id(), "processed", "held", "failed");
            Assert.True(processed.Str("status") == "processed", "the validated version should be processed: " + processed);

            // Same transaction as the validated version's outcome: already visible.
            var superseded = await gateway.GetAsync(draftRow.Id());
            Assert.Equal("ignored", superseded.Str("status"));
            Assert.Null(superseded.Str("error"));
            Assert.Equal(
                ("ignored", $"superseded by the validated version in message {validatedRow.Id()}; never entered the dossier"),
                LastHistory(superseded));
            Assert.Equal(
                ["accepted", "held", "ignored"],
                superseded.GetProperty("history").EnumerateArray().Select(h => h.Str("status")).ToList());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Two polls: the file is taken once its size and time held still across them.</summary>
    private static async Task TakeAsync(FilePoller poller)
    {
        await poller.PollOnceAsync("ldl");
        var poll = await poller.PollOnceAsync("ldl");
        Assert.Equal((1, 1), (poll.Taken, poll.Messages));
    }

    private static (string? Status, string? Detail) LastHistory(JsonElement message)
    {
        var last = message.GetProperty("history").EnumerateArray().Last();
        return (last.Str("status"), last.Str("detail"));
    }
}
