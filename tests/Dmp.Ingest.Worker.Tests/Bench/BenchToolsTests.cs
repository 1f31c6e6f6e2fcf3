using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dmp.Bench;
using Dmp.Bench.Store;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.LoadGen;

namespace Dmp.Ingest.Worker.Tests.Bench;

/// <summary>The benchmark tools run end to end (CI proves they work; it never judges the figures).</summary>
[Trait("Tier", "Slow")]
public sealed class BenchToolsTests
{
    [Fact]
    public void Compare_prints_rates_and_allocations_of_both_parsers_as_its_last_line()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = CompareCommand.Run(["--seconds", "1", "--max-warmup", "3"], stdout, stderr);

        Assert.True(code == 0, stderr.ToString());
        using var json = JsonDocument.Parse(LastLine(stdout));
        foreach (var field in new[]
        {
            "ours_adt_per_s", "split_adt_per_s", "ours_oru_per_s", "split_oru_per_s", "ours_adt_alloc_bytes", "ours_oru_alloc_bytes",
            "ours_map_adt_per_s", "ours_map_adt_alloc_bytes",
        })
            Assert.True(json.RootElement.GetProperty(field).GetDouble() > 0, $"{field} should be positive in {LastLine(stdout)}");
    }

    [Fact]
    public async Task LoadGen_gets_every_message_acked_and_stored_by_an_in_process_gateway()
    {
        await using var gateway = await TestGateway.StartAsync();
        var token = TestGateway.Token(DmpClaims.Operator);
        var file = Path.Combine(AppContext.BaseDirectory, "TestData", "hl7v2", "fhirconv_ADT-A01-01.hl7");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var code = await LoadGenCommand.RunAsync(
        [
            "--host", "127.0.0.1", "--port", gateway.Mllp.Port.ToString(CultureInfo.InvariantCulture),
            "--connections", "4", "--count", "200", "--file", file,
            "--verify", "--api", $"http://{gateway.Http}", "--token", token,
        ], stdout, stderr, limit.Token);

        Assert.True(code == 0, stdout + "\n" + stderr);
        using var json = JsonDocument.Parse(LastLine(stdout));
        var report = json.RootElement;
        Assert.Equal(200, report.GetProperty("sent").GetInt64());
        Assert.Equal(200, report.GetProperty("acked").GetInt64());
        Assert.Equal(0, report.GetProperty("nacked").GetInt64());
        Assert.Equal(0, report.GetProperty("lost").GetInt64());
        Assert.Equal(200, report.GetProperty("verified").GetInt64());
        Assert.Equal(0, report.GetProperty("missing").GetInt64());
        Assert.True(report.GetProperty("acked_per_s").GetDouble() > 0);
        Assert.True(report.GetProperty("p99_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Sqlite_commit_probe_commits_rows_of_the_asked_size_and_leaves_no_file()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-commit-");
        try
        {
            var stdout = new StringWriter();

            var code = await LoadGenCommand.RunAsync(["fsync", "--dir", dir.FullName, "--seconds", "0.3", "--sqlite", "--bytes", "8600"], stdout, TextWriter.Null);

            Assert.Equal(0, code);
            using var json = JsonDocument.Parse(LastLine(stdout));
            Assert.True(json.RootElement.GetProperty("commits").GetInt64() > 0);
            Assert.True(json.RootElement.GetProperty("sqlite_commits_per_s").GetDouble() > 0);
            Assert.Equal(8600, json.RootElement.GetProperty("bytes").GetInt32());
            Assert.Empty(dir.EnumerateFiles());
            Assert.Equal(64, await LoadGenCommand.RunAsync(["fsync", "--dir", dir.FullName, "--bytes", "10"], TextWriter.Null, TextWriter.Null));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Fsync_probe_reports_a_positive_rate()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-fsync-");
        try
        {
            var stdout = new StringWriter();

            var code = await LoadGenCommand.RunAsync(["fsync", "--dir", dir.FullName, "--seconds", "0.3"], stdout, TextWriter.Null);

            Assert.Equal(0, code);
            using var json = JsonDocument.Parse(LastLine(stdout));
            Assert.True(json.RootElement.GetProperty("fsync_per_s").GetDouble() > 0);
            Assert.Empty(dir.EnumerateFiles());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Inbox_search_fills_a_store_and_reports_one_json_line_per_step_with_patients_found()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-inbox-search-");
        try
        {
            var output = new StringWriter();
            var errors = new StringWriter();
            Assert.True(await InboxSearchCommand.RunAsync(["--messages", "12000", "--data", dir.FullName, "--queries", "5"], output, errors) == 0, errors.ToString());
            var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length); // the 10 k step, then 12 k
            using var json = JsonDocument.Parse(lines[^1]);
            Assert.Equal(12000, json.RootElement.GetProperty("messages").GetInt64());
            Assert.True(json.RootElement.GetProperty("patient_ins_rows").GetDouble() > 1, lines[^1]);
            Assert.True(json.RootElement.GetProperty("document_ms").GetProperty("p99").GetDouble() > 0);
            Assert.Equal(BenchArgs.Usage, await InboxSearchCommand.RunAsync(["--bogus", "1"], TextWriter.Null, TextWriter.Null));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Seed_then_search_and_process_run_on_the_real_store_and_report_json()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-seed-");
        try
        {
            var seeded = new StringWriter();
            Assert.Equal(0, await SeedCommand.RunAsync(["--patients", "50", "--documents", "500", "--inbox", "100", "--data", dir.FullName], seeded, TextWriter.Null));
            using (var json = JsonDocument.Parse(LastLine(seeded)))
                Assert.Equal(500, json.RootElement.GetProperty("documents").GetInt64());

            var searched = new StringWriter();
            var errors = new StringWriter();
            Assert.True(await SearchCommand.RunAsync(["--data", dir.FullName, "--count", "20"], searched, errors) == 0, errors.ToString());
            using (var json = JsonDocument.Parse(LastLine(searched)))
            {
                Assert.Equal(20, json.RootElement.GetProperty("searches").GetInt64());
                Assert.True(json.RootElement.GetProperty("api_p99_ms").GetDouble() > 0);
                Assert.True(json.RootElement.GetProperty("sql_rows_per_search").GetDouble() > 0);
            }

            var processed = new StringWriter();
            Assert.True(await ProcessCommand.RunAsync(["--data", dir.FullName, "--messages", "20", "--receive", "20", "--patients", "50"], processed, errors) == 0, errors.ToString());
            using (var json = JsonDocument.Parse(LastLine(processed)))
                Assert.Equal(40, json.RootElement.GetProperty("statuses").GetProperty("processed").GetInt64());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The test above calls the command inside this test host, which has its own globalization settings; this runs the
    /// bench's program as `dotnet run --project bench/Dmp.Bench` does (it once stopped at the gateway's start, the
    /// console's cultures missing under the bench's invariant globalization, while the in-host test passed).
    /// </summary>
    [Fact]
    public async Task The_bench_program_itself_processes_on_a_fresh_store()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-bench-process-");
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Dmp.Bench.dll"), "process", "--data", dir.FullName, "--messages", "5", "--receive", "5", "--patients", "10" },
                // Where the gateway finds mappings/, as the repository's root is for `dotnet run`.
                WorkingDirectory = AppContext.BaseDirectory,
            };
            var (code, stdout, stderr) = await ChildProcess.RunToEndAsync(start, TimeSpan.FromSeconds(180));

            Assert.True(code == 0, $"exit code {code}: {stderr}");
            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.NotEmpty(lines);
            using var json = JsonDocument.Parse(lines[^1]);
            Assert.Equal(10, json.RootElement.GetProperty("statuses").GetProperty("processed").GetInt64());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Template_gets_a_new_control_id_in_msh_10_and_mllp_framing()
    {
        var template = MllpTemplate.FromBytes("MSH|^~\\&|APP|FAC|GW|DMP|20260101||ADT^A01|ORIGINAL|P|2.5\nPID|1||123\n"u8);
        var frame = new byte[template.FrameLength(8)];

        var length = template.Write(frame, "NEW-0001");

        Assert.Equal("ORIGINAL", template.OriginalControlId);
        Assert.Equal("\vMSH|^~\\&|APP|FAC|GW|DMP|20260101||ADT^A01|NEW-0001|P|2.5\rPID|1||123\r\u001c\r",
            System.Text.Encoding.ASCII.GetString(frame, 0, length));
    }

    private static string LastLine(StringWriter writer) =>
        writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
}
