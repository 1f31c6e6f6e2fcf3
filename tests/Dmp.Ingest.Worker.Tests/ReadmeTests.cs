using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Dmp.Ingest.Worker.Tests;

/// <summary>
/// The README's shell blocks, run as a new user would — in order, in one shell, from a folder that looks
/// like the repository's root — against the gateway the first block starts, with only the ports changed.
/// A line `#> text` under a command is output the README promises; the test holds it to that.
/// </summary>
[Trait("Tier", "Slow")]
public sealed partial class ReadmeTests
{
    [Fact(Timeout = 300_000)]
    public async Task Every_shell_block_of_the_README_runs_as_written()
    {
        var root = RepositoryRoot();
        var readme = await File.ReadAllTextAsync(Path.Combine(root, "README.md"));
        var blocks = ShellBlocks(readme).Where(b => !b.Contains("./test.sh", StringComparison.Ordinal)).ToList();
        Assert.True(blocks.Count >= 4, "the README lost its runnable examples");
        var expected = blocks.SelectMany(b => b.Split('\n'))
            .Where(l => l.StartsWith("#> ", StringComparison.Ordinal))
            .Select(l => l[3..].Split('…')[0])
            .ToList();
        Assert.NotEmpty(expected);

        // A folder shaped like a fresh clone's root: the README's relative paths resolve, ./data lands here.
        var folder = Directory.CreateTempSubdirectory("dmp-readme-");
        try
        {
            foreach (var name in new[] { "mappings", "tests", "src" })
                Directory.CreateSymbolicLink(Path.Combine(folder.FullName, name), Path.Combine(root, name));
            var (http, mllp) = (FreePort(), FreePort());
            var worker = Path.Combine(AppContext.BaseDirectory, "Dmp.Ingest.Worker.dll");
            var script = new StringBuilder()
                .AppendLine("set -eu")
                .AppendLine("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT")
                .AppendLine(string.Join('\n', blocks))
                .ToString()
                .Replace("dotnet run --project src/Dmp.Ingest.Worker --", $"dotnet \"{worker}\"", StringComparison.Ordinal)
                .Replace("dotnet run --project src/Dmp.Ingest.Worker", $"dotnet \"{worker}\"", StringComparison.Ordinal)
                .Replace("8080", http.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("2575", mllp.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
            var scriptPath = Path.Combine(folder.FullName, "readme.sh");
            await File.WriteAllTextAsync(scriptPath, script);

            var (code, stdout, stderr) = await RunBashAsync(scriptPath, folder.FullName, new Dictionary<string, string>
            {
                ["Dmp__Http__Port"] = http.ToString(CultureInfo.InvariantCulture),
                ["Dmp__Mllp__Port"] = mllp.ToString(CultureInfo.InvariantCulture),
                ["Dmp__Rules__ReloadSeconds"] = "0",
            });

            var context = $"exit {code}\n--- stdout\n{Tail(stdout)}\n--- stderr\n{Tail(stderr)}";
            Assert.True(code == 0, context);
            foreach (var line in expected)
                Assert.True(stdout.Contains(line, StringComparison.Ordinal), $"the README promises '{line}'\n{context}");
            Assert.DoesNotContain("OperationOutcome", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("\"status\":40", stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
            // The data went to ./data of the folder the commands ran in, not to the project or the build output.
            Assert.True(File.Exists(Path.Combine(folder.FullName, "data", "dmp.db")), context);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_README_names_no_file_outside_the_repository_and_starts_with_run_and_test()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

        Assert.DoesNotContain("../", readme, StringComparison.Ordinal);
        var first = ShellBlocks(readme).First();
        Assert.Contains("dotnet run --project src/Dmp.Ingest.Worker", first, StringComparison.Ordinal);
        Assert.Contains("./test.sh", first, StringComparison.Ordinal);
        Assert.Contains("./test.sh --fast", readme, StringComparison.Ordinal);
        foreach (Match link in MarkdownLink().Matches(readme))
        {
            var target = link.Groups[1].Value.Split('#')[0];
            if (target.Length > 0 && !target.Contains("://", StringComparison.Ordinal))
                Assert.True(Path.Exists(Path.Combine(RepositoryRoot(), target)), $"README links to {target}, which is not in the repository");
        }
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dmp.Ingest.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("no Dmp.Ingest.sln above " + AppContext.BaseDirectory);
    }

    internal static IEnumerable<string> ShellBlocks(string markdown) =>
        ShellBlock().Matches(markdown.ReplaceLineEndings("\n")).Select(m => m.Groups[1].Value);

    private static async Task<(int Code, string Stdout, string Stderr)> RunBashAsync(string script, string folder, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash", [script])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string Tail(string text) => text.Length <= 6000 ? text : "…" + text[^6000..];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^```sh\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
