using Dmp.Ingest.Worker.Cli;

namespace Dmp.Ingest.Worker.Tests;

/// <summary>Runs a Worker verb in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static string TestData(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    public static IEnumerable<string> Files(string folder) =>
        Directory.EnumerateFiles(TestData(folder), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal);
}
