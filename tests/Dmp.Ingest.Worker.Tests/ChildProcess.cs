using System.Diagnostics;

namespace Dmp.Ingest.Worker.Tests;

/// <summary>Runs a program to its end, as a shell would, and captures what it printed.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Starts <paramref name="start"/> with its output redirected and waits for it; past <paramref name="patience"/> the
    /// process (and what it started) is killed and a <see cref="TimeoutException"/> names it with what it wrote to stderr.
    /// </summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunToEndAsync(ProcessStartInfo start, TimeSpan patience)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(patience);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(start.FileName)} {string.Join(' ', start.ArgumentList)} did not finish within {patience.TotalSeconds} s: {await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
