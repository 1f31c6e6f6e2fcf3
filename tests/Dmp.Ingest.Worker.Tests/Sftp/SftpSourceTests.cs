using System.Security.Cryptography;
using System.Text;
using Dmp.Ingest.Worker.Sftp;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Mapping.Hl7v2;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>The SFTP channel against a real OpenSSH sshd on loopback; polls driven by the tests.</summary>
[Trait("Tier", "Slow")]
public sealed class SftpSourceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [Fact]
    public Task File_is_ingested_once_and_archived() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        var bytes = SftpSamples.Adt("SFTP-ONCE-1");
        await File.WriteAllBytesAsync(Path.Combine(h.In, "adt1.hl7"), bytes);

        var first = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Null(first.Error);
        Assert.Equal((1, 1, 0), (first.Listed, first.Waiting, first.Taken)); // seen once: not yet known to be stable

        var second = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((1, 1, 0, 1), (second.Taken, second.Messages, second.Duplicates, second.Archived));
        Assert.Equal(["adt1.hl7"], SftpHarness.Names(h.Archive));
        Assert.Empty(SftpHarness.Names(h.In));

        var third = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal(0, third.Taken);

        var row = Assert.Single(await h.RowsAsync());
        Assert.Equal(SftpHarness.Source, row.Str("channel"));
        Assert.Equal(h.In + "/adt1.hl7", row.Str("fileName"));
        Assert.Equal($"{SftpHarness.Source}/RIS|CENTRE-IMG", row.Str("sender"));
        Assert.Equal("SFTP-ONCE-1", row.Str("controlId"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), row.Str("sha256")?.ToLowerInvariant());
        Assert.StartsWith("sftp://127.0.0.1:", row.Str("remoteEndpoint"));
        Assert.Equal(1, row.GetProperty("receipts").GetInt32());
    });

    [Fact]
    public Task Partial_file_is_not_taken_until_stable() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        var full = SftpSamples.Adt("SFTP-PARTIAL-1");
        var path = Path.Combine(h.In, "growing.hl7");
        await File.WriteAllBytesAsync(path, full[..20]);
        Assert.Equal(0, (await h.Poller.PollOnceAsync(SftpHarness.Source)).Taken);
        await AppendAsync(path, full[20..60]);
        Assert.Equal(0, (await h.Poller.PollOnceAsync(SftpHarness.Source)).Taken); // size changed: still being written
        await AppendAsync(path, full[60..]);
        Assert.Equal(0, (await h.Poller.PollOnceAsync(SftpHarness.Source)).Taken);
        Assert.Empty(await h.RowsAsync());

        var stable = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((1, 1), (stable.Taken, stable.Archived));
        var row = Assert.Single(await h.RowsAsync());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(full)), row.Str("sha256")?.ToLowerInvariant());
    });

    [Fact]
    public Task Done_marker_mode_takes_a_file_once_its_marker_is_there() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync(new() { ["StableBy"] = "DoneMarker", ["Pattern"] = "*.hl7" });
        await File.WriteAllBytesAsync(Path.Combine(h.In, "adt.hl7"), SftpSamples.Adt("SFTP-DONE-1"));
        var without = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((1, 1, 0), (without.Listed, without.Waiting, without.Taken));
        Assert.Equal(0, (await h.Poller.PollOnceAsync(SftpHarness.Source)).Taken); // stable, but no marker

        await File.WriteAllTextAsync(Path.Combine(h.In, "adt.hl7.done"), "");
        var with = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((1, 1, 1), (with.Taken, with.Messages, with.Archived));
        Assert.Empty(SftpHarness.Names(h.In)); // marker removed too
        Assert.Equal(["adt.hl7"], SftpHarness.Names(h.Archive));
        Assert.Single(await h.RowsAsync());
    });

    [Fact]
    public Task Wrong_pinned_host_key_is_refused_with_a_clear_log_line_and_nothing_is_read() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        await File.WriteAllBytesAsync(Path.Combine(h.In, "adt.hl7"), SftpSamples.Adt("SFTP-HOSTKEY-1"));
        var log = new ListLogger<FilePoller>();
        var factory = new FileSourceFactory(LoggerFactory.Create(b => b.AddProvider(new ListProvider(log))));
        var poller = h.NewPoller(factory, log, s => s.HostKeySha256 = h.Sshd.ClientKeySha256);

        for (var i = 0; i < 2; i++)
        {
            var result = await poller.PollOnceAsync(SftpHarness.Source);
            Assert.NotNull(result.Error);
            Assert.Contains("host key", result.Error);
            Assert.Equal(0, result.Listed);
        }
        Assert.Contains(log.Lines, l => l.Level == LogLevel.Error && l.Text.Contains("host key of", StringComparison.Ordinal) && l.Text.Contains("refused", StringComparison.Ordinal)
            && l.Text.Contains("HostKeySha256", StringComparison.Ordinal) && l.Text.Contains(SftpHarness.Source, StringComparison.Ordinal) && l.Text.Contains(h.Sshd.HostKeySha256, StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Text.Contains("poll skipped, nothing read", StringComparison.Ordinal));
        Assert.Equal(["adt.hl7"], SftpHarness.Names(h.In));
        Assert.Empty(await h.RowsAsync());
        Assert.DoesNotContain("Accepted publickey", h.Sshd.Log, StringComparison.Ordinal);
    });

    [Fact]
    public Task Crash_after_commit_and_before_the_move_does_not_store_the_file_twice() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        var cda = await File.ReadAllBytesAsync(SftpSamples.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml"));
        await File.WriteAllBytesAsync(Path.Combine(h.In, "adt.hl7"), SftpSamples.Adt("SFTP-CRASH-1"));
        await File.WriteAllBytesAsync(Path.Combine(h.In, "cr-bio.xml"), cda);

        // The first poller commits both files, then each move "crashes".
        var crashing = h.NewPoller(new FailingMoveFactory(new FileSourceFactory(LoggerFactory.Create(_ => { })), failMoves: 2));
        await crashing.PollOnceAsync(SftpHarness.Source);
        var committed = await crashing.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((2, 2, 2, 0), (committed.Taken, committed.Messages, committed.MoveFailures, committed.Archived));
        Assert.Equal(["adt.hl7", "cr-bio.xml"], SftpHarness.Names(h.In));

        // After the restart, a fresh poller takes them again: recognised as resends, then archived.
        var restarted = h.NewPoller();
        await restarted.PollOnceAsync(SftpHarness.Source);
        var again = await restarted.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((2, 0, 2, 2), (again.Taken, again.Messages, again.Duplicates, again.Archived));
        Assert.Empty(SftpHarness.Names(h.In));

        var rows = await h.RowsAsync();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(2, r.GetProperty("receipts").GetInt32()));
        var cdaRow = Assert.Single(rows, r => r.Str("messageType") == "CDA");
        Assert.Equal("cr-bio.xml", cdaRow.Str("controlId"));
    });

    [Fact]
    public Task Fifty_files_in_one_poll_are_each_stored_once_and_all_archived() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        for (var i = 0; i < 50; i++)
            await File.WriteAllBytesAsync(Path.Combine(h.In, $"adt-{i:D2}.hl7"), SftpSamples.Adt($"SFTP-50-{i:D2}"));
        Assert.Equal(50, (await h.Poller.PollOnceAsync(SftpHarness.Source)).Waiting);
        var poll = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((50, 50, 0, 50, 0), (poll.Taken, poll.Messages, poll.Duplicates, poll.Archived, poll.MoveFailures));
        Assert.Empty(SftpHarness.Names(h.In));
        Assert.Equal(50, SftpHarness.Names(h.Archive).Length);

        var rows = await h.RowsAsync();
        Assert.Equal(50, rows.Count);
        Assert.Equal(50, rows.Select(r => r.Str("controlId")).Distinct().Count());
        Assert.All(rows, r => Assert.Equal(1, r.GetProperty("receipts").GetInt32()));
    });

    [Fact]
    public Task Hl7_batch_file_gives_one_row_per_message() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        var batch = await File.ReadAllBytesAsync(SftpSamples.TestData("hl7v2", "reportstream_batch_message.hl7"));
        var expected = Hl7Batch.Split(batch).Messages.Count;
        Assert.True(expected > 1, "the corpus batch should hold several messages");
        await File.WriteAllBytesAsync(Path.Combine(h.In, "batch.hl7"), batch);
        await h.Poller.PollOnceAsync(SftpHarness.Source);
        var poll = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((1, expected, 1), (poll.Taken, poll.Messages, poll.Archived));

        var rows = await h.RowsAsync();
        Assert.Equal(expected, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.Equal(h.In + "/batch.hl7", r.Str("fileName"));
            Assert.StartsWith(SftpHarness.Source + "/", r.Str("sender"));
            Assert.NotEqual("rejected", r.Str("status"));
        });
    });

    [Fact]
    public Task French_cda_file_is_one_row_of_type_CDA_that_ends_processed() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        var cda = await File.ReadAllBytesAsync(SftpSamples.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml"));
        await File.WriteAllBytesAsync(Path.Combine(h.In, "cr-bio-tsh.xml"), cda);
        await h.Poller.PollOnceAsync(SftpHarness.Source);
        var poll = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((1, 1, 1), (poll.Taken, poll.Messages, poll.Archived));

        var row = Assert.Single(await h.RowsAsync());
        Assert.Equal("CDA", row.Str("messageType"));
        Assert.Equal(SftpHarness.Source, row.Str("sender")); // a CDA file's sender is its source
        Assert.Equal("cr-bio-tsh.xml", row.Str("controlId"));
        Assert.Equal(h.In + "/cr-bio-tsh.xml", row.Str("fileName"));
        Assert.Null(row.Str("ackCode"));
        var done = await h.Gateway.WaitForStatusAsync(row.Id(), "processed", "failed");
        Assert.True(done.Str("status") == "processed", "the CDA should be processed: " + done);
    });

    [Fact]
    public Task Garbage_file_goes_to_error_with_a_reason_file() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        await File.WriteAllBytesAsync(Path.Combine(h.In, "garbage.bin"), [0x00, 0x01, 0xFF, 0x7F, (byte)'n', (byte)'o', (byte)'t', 0x0D, 0x0A, 0x42]);
        await File.WriteAllTextAsync(Path.Combine(h.In, "notcda.xml"), "<?xml version=\"1.0\"?><invoice><total>12</total></invoice>");
        await h.Poller.PollOnceAsync(SftpHarness.Source);
        var poll = await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal((2, 2, 0), (poll.Taken, poll.SetAside, poll.Archived));
        Assert.Empty(SftpHarness.Names(h.In));
        Assert.Equal(["garbage.bin", "garbage.bin.reason.txt", "notcda.xml", "notcda.xml.reason.txt"], SftpHarness.Names(h.Error));
        var reason = await File.ReadAllTextAsync(Path.Combine(h.Error, "garbage.bin.reason.txt"));
        Assert.Contains("refused at the inbox door", reason);
        Assert.Contains("not HL7 v2", reason);
        Assert.Contains("not a CDA document", await File.ReadAllTextAsync(Path.Combine(h.Error, "notcda.xml.reason.txt")));

        var rows = await h.RowsAsync();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal("rejected", r.Str("status")));
    });

    [Fact]
    public Task Taken_name_in_archive_gets_a_unique_name() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync();
        Directory.CreateDirectory(h.Archive);
        await File.WriteAllTextAsync(Path.Combine(h.Archive, "adt.hl7"), "an earlier file");
        await File.WriteAllBytesAsync(Path.Combine(h.In, "adt.hl7"), SftpSamples.Adt("SFTP-UNIQUE-1"));
        await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal(1, (await h.Poller.PollOnceAsync(SftpHarness.Source)).Archived);
        var names = SftpHarness.Names(h.Archive);
        Assert.Equal(2, names.Length);
        Assert.Equal("an earlier file", await File.ReadAllTextAsync(Path.Combine(h.Archive, "adt.hl7")));
        Assert.Matches(@"^adt\.\d{8}T\d{9}\.hl7$", names.Single(n => n != "adt.hl7"));
    });

    [Fact]
    public Task Delete_after_ingest_removes_the_file() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync(new() { ["AfterIngest"] = "Delete" });
        await File.WriteAllBytesAsync(Path.Combine(h.In, "adt.hl7"), SftpSamples.Adt("SFTP-DELETE-1"));
        await h.Poller.PollOnceAsync(SftpHarness.Source);
        Assert.Equal(1, (await h.Poller.PollOnceAsync(SftpHarness.Source)).Deleted);
        Assert.Empty(SftpHarness.Names(h.In));
        Assert.False(Directory.Exists(h.Archive));
        Assert.Single(await h.RowsAsync());
    });

    [Fact]
    public Task Quartz_schedule_polls_the_source_by_itself() => Bounded(async () =>
    {
        await using var h = await SftpHarness.StartAsync(new() { ["PollSeconds"] = "1" });
        await File.WriteAllBytesAsync(Path.Combine(h.In, "adt.hl7"), SftpSamples.Adt("SFTP-QUARTZ-1"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(Path.Combine(h.Archive, "adt.hl7")))
        {
            Assert.True(DateTime.UtcNow < deadline, "the Quartz job did not archive the file within 30 s");
            await Task.Delay(100);
        }
        var row = Assert.Single(await h.RowsAsync());
        Assert.Equal("SFTP-QUARTZ-1", row.Str("controlId"));
    });

    private static async Task AppendAsync(string path, byte[] bytes)
    {
        await using var stream = new FileStream(path, FileMode.Append);
        await stream.WriteAsync(bytes);
        await stream.FlushAsync();
        // A distinct modification time even on coarse clocks.
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(1));
    }

    private static async Task Bounded(Func<Task> test) => await test().WaitAsync(Bound);

    private sealed class ListProvider(ListLogger<FilePoller> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => sink;
        public void Dispose() { }
    }
}

/// <summary>The drop-folder kind and the options' messages, without a server.</summary>
public sealed class FileSourceOptionsTests
{
    [Fact]
    public async Task Drop_folder_source_reuses_the_same_poller()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-drop-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder);
            var poller = gateway.Poller();
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "adt.hl7"), SftpSamples.Adt("DROP-1"));
            await poller.PollOnceAsync("drop");
            var poll = await poller.PollOnceAsync("drop");
            Assert.Equal((1, 1, 1), (poll.Taken, poll.Messages, poll.Archived));
            Assert.True(File.Exists(Path.Combine(folder.FullName, "archive", "adt.hl7")));
            var row = Assert.Single(await gateway.MessagesAsync(), r => r.Str("channel") == "drop");
            Assert.Equal("drop/RIS|CENTRE-IMG", row.Str("sender"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Validator_names_each_wrong_key_and_the_fix()
    {
        var options = new SftpOptions
        {
            Sources =
            [
                new FileSourceOptions { Name = "a/b", Host = "h", User = "u", PrivateKeyPath = "/nonexistent/key", HostKeySha256 = "SHA256:short", PollSeconds = 0 },
                new FileSourceOptions { Name = "x", Host = "h", User = "u", PrivateKeyPath = "/nonexistent/key", Schedule = "not cron" },
                new FileSourceOptions { Name = "x", Kind = FileSourceKind.Folder },
            ],
        };
        var result = new SftpOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        var text = string.Join('\n', result.Failures!);
        Assert.Contains("Dmp:Sftp:Sources:0:Name", text);
        Assert.Contains("Dmp:Sftp:Sources:0:HostKeySha256 'SHA256:short' is not a SHA-256 fingerprint", text);
        Assert.Contains("Dmp:Sftp:Sources:0:PollSeconds", text);
        Assert.Contains("Dmp:Sftp:Sources:0:PrivateKeyPath '/nonexistent/key' does not exist", text);
        Assert.Contains("Dmp:Sftp:Sources:1:HostKeySha256 is not set", text);
        Assert.Contains("Dmp:Sftp:Sources:1:Schedule 'not cron'", text);
        Assert.Contains("Dmp:Sftp:Sources:2:Name 'x' is used by another source", text);
        Assert.Contains("Dmp:Sftp:Sources:2:Path is not set", text);
    }

    [Fact]
    public async Task Gateway_does_not_start_with_a_source_missing_its_host_key_pin()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Sftp:Sources:0:Name"] = "ris",
            ["Dmp:Sftp:Sources:0:Host"] = "127.0.0.1",
            ["Dmp:Sftp:Sources:0:User"] = "dmp",
            ["Dmp:Sftp:Sources:0:PrivateKeyPath"] = typeof(FileSourceOptionsTests).Assembly.Location,
        }));
        Assert.Contains("Dmp:Sftp:Sources:0:HostKeySha256 is not set", ex.Message);
    }
}
