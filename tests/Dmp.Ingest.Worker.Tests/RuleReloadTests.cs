using Dmp.Ingest.Worker.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests;

public sealed class RuleReloadTests
{
    [Fact]
    public async Task A_broken_edit_keeps_the_previous_rules_and_a_fixed_one_is_swapped_in()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-rules-");
        try
        {
            CopyFolder(Path.Combine(AppContext.BaseDirectory, "mappings"), folder.FullName);
            var holder = new RuleSetReloader(Options.Create(new RulesOptions { Path = folder.FullName, ReloadSeconds = 0 }), NullLogger<RuleSetReloader>.Instance);
            await holder.StartAsync(CancellationToken.None);
            var first = holder.Current;
            Assert.False(holder.TryReload(), "nothing changed");

            var rule = Path.Combine(folder.FullName, "oru-lab.yaml");
            var original = await File.ReadAllTextAsync(rule);
            await File.WriteAllTextAsync(rule, original + "\nnot-a-known-key: 1\n");
            Assert.False(holder.TryReload());
            Assert.Same(first, holder.Current);

            await File.WriteAllTextAsync(rule, original.Replace("description:", "# edited\ndescription:", StringComparison.Ordinal));
            File.SetLastWriteTimeUtc(rule, DateTime.UtcNow.AddSeconds(5));
            Assert.True(holder.TryReload());
            Assert.NotSame(first, holder.Current);
            Assert.Equal(1, holder.Reloads);
            await holder.StopAsync(CancellationToken.None);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Reload_messages_name_the_file_that_was_edited()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-rules-");
        try
        {
            CopyFolder(Path.Combine(AppContext.BaseDirectory, "mappings"), folder.FullName);
            var log = new Sftp.ListLogger<RuleSetReloader>();
            var reloader = new RuleSetReloader(Options.Create(new RulesOptions { Path = folder.FullName, ReloadSeconds = 0 }), log);
            await reloader.StartAsync(CancellationToken.None);
            var table = Path.Combine(folder.FullName, "tables", "assigning-authorities.yaml");
            var original = await File.ReadAllTextAsync(table);

            await File.WriteAllTextAsync(table, original + "broken: [unclosed\n");
            File.SetLastWriteTimeUtc(table, DateTime.UtcNow.AddSeconds(5));
            Assert.False(reloader.TryReload());
            await File.WriteAllTextAsync(table, original.Replace("entries:", "# edited\nentries:", StringComparison.Ordinal));
            File.SetLastWriteTimeUtc(table, DateTime.UtcNow.AddSeconds(10));
            Assert.True(reloader.TryReload());

            var lines = log.Lines.Select(l => l.Text).ToList();
            Assert.Contains(lines, l => l.StartsWith("Mapping rules changed (" + table + ") but do not load", StringComparison.Ordinal) && l.Contains(table + ":", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.EndsWith(table + " changed", StringComparison.Ordinal));
            await reloader.StopAsync(CancellationToken.None);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_broken_rule_folder_stops_the_gateway_at_start_naming_file_line_and_column()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-rules-");
        var data = Directory.CreateTempSubdirectory("dmp-data-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "bad.yaml"), "rule: bad\nwhen: { message: ADT }\nrecords:\n  - record: patient\n    each: PID\n    fields:\n      names: PID-FIVE\n");
            var (code, _, stderr) = await CliRunner.RunAsync("serve", $"--Dmp:Rules:Path={folder.FullName}", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}");

            Assert.NotEqual(0, code);
            Assert.Matches(@"bad\.yaml:\d+:\d+: ", stderr);
        }
        finally
        {
            folder.Delete(recursive: true);
            data.Delete(recursive: true);
        }
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
