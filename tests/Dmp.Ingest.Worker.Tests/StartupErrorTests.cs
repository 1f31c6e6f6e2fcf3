using System.Net;
using System.Net.Sockets;
using Dmp.Ingest.Worker.Cli;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Tests.Sftp;

namespace Dmp.Ingest.Worker.Tests;

/// <summary>A start that cannot go on says what and where in one line per problem, with the documented exit code and no stack trace.</summary>
public sealed class StartupErrorTests
{
    [Fact]
    public async Task Each_setting_that_does_not_convert_is_one_line_with_the_allowed_values_and_exit_64()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Mllp:AckMode=Foo", "--Dmp:Http:Port=eighty", "--Dmp:Mllp:Tls:Enabled=maybe");

        Assert.Equal(64, code);
        var lines = Lines(stderr);
        Assert.Equal(3, lines.Length);
        Assert.Contains(lines, l => l.StartsWith("error: Dmp:Mllp:AckMode is 'Foo': allowed values are Commit, Processed;", StringComparison.Ordinal) && l.Contains("--Dmp:Mllp:AckMode=Commit", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("error: Dmp:Http:Port is 'eighty': use a whole number", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("error: Dmp:Mllp:Tls:Enabled is 'maybe': use true or false", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Dmp.Ingest.Worker.Mllp.AckMode", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_naming_the_setting_and_exit_69()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var data = Directory.CreateTempSubdirectory("dmp-port-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", $"--Dmp:Http:Port={port}", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}");

            Assert.Equal(ExitCodes.Unavailable, code);
            var line = Assert.Single(Lines(stderr));
            Assert.StartsWith($"error: cannot listen on 127.0.0.1:{port} (Dmp:Http:Port)", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_unreachable_PostgreSQL_is_one_line_naming_where_and_exit_69()
    {
        var closed = FreePort();
        var data = Directory.CreateTempSubdirectory("dmp-pg-down-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}",
                "--Dmp:Store:Provider=Postgres", $"--Dmp:Store:ConnectionString=Host=127.0.0.1;Port={closed};Username=dmp;Password=secret;Database=dmp;Timeout=3");

            Assert.Equal(ExitCodes.Unavailable, code);
            var line = Assert.Single(Lines(stderr));
            Assert.StartsWith($"error: cannot open the Postgres store at 127.0.0.1:{closed}/dmp:", line, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_missing_certificate_file_is_exit_69_naming_the_setting_and_path()
    {
        var data = Directory.CreateTempSubdirectory("dmp-cert-");
        try
        {
            var missing = Path.Combine(data.FullName, "nope.pem");
            var (code, _, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}",
                "--Dmp:Mllp:Tls:Enabled=true", $"--Dmp:Mllp:Tls:CertificatePath={missing}");

            Assert.Equal(ExitCodes.Unavailable, code);
            Assert.Equal($"error: Dmp:Mllp:Tls:CertificatePath '{missing}': cannot read the certificate: no such file", Assert.Single(Lines(stderr)));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_rules_folder_that_does_not_exist_is_named_with_its_absolute_path_and_exit_64()
    {
        var data = Directory.CreateTempSubdirectory("dmp-norules-");
        try
        {
            var (code, _, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}", "--Dmp:Rules:Path=no-such-rules");

            Assert.Equal(64, code);
            var line = Assert.Single(Lines(stderr));
            Assert.Contains(Path.GetFullPath("no-such-rules"), line, StringComparison.Ordinal);
            Assert.Contains("--Dmp:Rules:Path=", line, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public void Rule_files_below_the_current_folder_are_named_relative_to_it()
    {
        var below = Path.Combine(Directory.GetCurrentDirectory(), "mappings", "oru-lab.yaml");

        Assert.Equal(Path.Combine("mappings", "oru-lab.yaml"), RulesFolder.Display(below));
        Assert.Equal("/elsewhere/oru-lab.yaml", RulesFolder.Display("/elsewhere/oru-lab.yaml"));
    }

    [Fact]
    public async Task The_start_line_names_the_absolute_data_rules_and_settings_paths()
    {
        var log = new ListLogger<StartupAnnouncer>();
        var announcer = new StartupAnnouncer(
            Microsoft.Extensions.Options.Options.Create(new GatewayOptions { DataDir = "./data" }),
            Microsoft.Extensions.Options.Options.Create(new RulesOptions { Path = "mappings" }),
            log);

        await announcer.StartAsync(CancellationToken.None);

        var (_, text) = Assert.Single(log.Lines);
        Assert.Contains($"data {Path.GetFullPath("./data")}", text, StringComparison.Ordinal);
        Assert.Contains($"rules {Path.GetFullPath("mappings")}", text, StringComparison.Ordinal);
        Assert.Contains("settings ", text, StringComparison.Ordinal);
    }

    private static string[] Lines(string text) => text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
