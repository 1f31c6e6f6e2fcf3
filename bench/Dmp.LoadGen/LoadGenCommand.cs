using System.Globalization;

namespace Dmp.LoadGen;

/// <summary>
/// The command line: `fsync --dir D [--seconds S] [--sqlite [--bytes N]]`, `reference-server --port P --dir D`, or a load run (see <see cref="LoadOptions.Usage"/>). Progress on
/// stderr; one JSON object as the last line of stdout. Exit 0 when done, 1 when messages were lost or refused,
/// 64 for bad usage, 66 for a missing file.
/// </summary>
public static class LoadGenCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Count > 0 && args[0] == "fsync")
            return Fsync(args.Skip(1).ToList(), stdout, stderr);
        if (args.Count > 0 && args[0] == "reference-server")
            return await ReferenceAsync(args.Skip(1).ToList(), stdout, stderr, ct);

        var options = LoadOptions.Parse(args, out var error);
        if (options is null)
        {
            await stderr.WriteLineAsync(error);
            await stderr.WriteLineAsync(LoadOptions.Usage);
            return 64;
        }
        if (!File.Exists(options.File))
        {
            await stderr.WriteLineAsync($"{options.File}: no such file");
            return 66;
        }
        LoadReport report;
        try
        {
            report = await LoadRun.RunAsync(options, stderr, ct);
        }
        catch (FormatException e)
        {
            await stderr.WriteLineAsync($"{options.File}: {e.Message}");
            return 65;
        }
        await stdout.WriteLineAsync(report.ToJson());
        return report.Lost == 0 && report.Nacked == 0 && (report.Missing ?? 0) == 0 ? 0 : 1;
    }

    /// <summary>`reference-server --port P --dir D [--host H]`: serves until cancelled (Ctrl-C or SIGTERM), then prints its counts as JSON.</summary>
    private static async Task<int> ReferenceAsync(List<string> args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        string? dir = null;
        var port = -1;
        var host = System.Net.IPAddress.Loopback;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            if (args[i] == "--dir" && value is not null)
                dir = value;
            else if (args[i] == "--port" && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p <= 65535)
                port = p;
            else if (args[i] == "--host" && System.Net.IPAddress.TryParse(value, out var h))
                host = h;
            else
            {
                await stderr.WriteLineAsync($"reference-server: unexpected argument {args[i]}");
                await stderr.WriteLineAsync(LoadOptions.Usage);
                return 64;
            }
            i++;
        }
        if (dir is null || port < 0)
        {
            await stderr.WriteLineAsync("reference-server: --port (0 for a free one) and --dir (where the frames file goes) are required");
            return 64;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        await using var server = ReferenceServer.Start(host, port, dir);
        await stdout.WriteLineAsync($"reference-server listening on {host}:{server.Port}, appending to {server.Path}");
        await stdout.FlushAsync(CancellationToken.None);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{{\"frames\":{server.Frames},\"fsyncs\":{server.Groups}}}"));
        return 0;
    }

    private static int Fsync(List<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? dir = null;
        var seconds = 10.0;
        var sqlite = false;
        var bytes = FsyncProbe.RecordBytes;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            if (args[i] == "--sqlite")
            {
                sqlite = true;
                continue;
            }
            if (args[i] == "--bytes" && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b is > 0 and <= 16 << 20)
                bytes = b;
            else if (args[i] == "--dir" && value is not null)
                dir = value;
            else if (args[i] == "--seconds" && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 3600)
                seconds = s;
            else
            {
                stderr.WriteLine($"fsync: unexpected argument {args[i]}");
                stderr.WriteLine(LoadOptions.Usage);
                return 64;
            }
            i++;
        }
        if (dir is null)
        {
            stderr.WriteLine("fsync: --dir is required (a folder on the disk to measure, e.g. the gateway's data folder)");
            return 64;
        }
        if (!Directory.Exists(dir))
        {
            stderr.WriteLine($"fsync: {dir}: no such folder");
            return 66;
        }
        if (sqlite)
        {
            var commits = SqliteCommitProbe.Run(dir, seconds, bytes);
            stderr.WriteLine($"fsync --sqlite: {commits.Commits} commits of one {commits.Bytes} B row in {commits.Seconds} s");
            stdout.WriteLine(commits.ToJson());
            return 0;
        }
        if (bytes != FsyncProbe.RecordBytes)
        {
            stderr.WriteLine("fsync: --bytes goes with --sqlite (the append probe writes 1 KiB records)");
            return 64;
        }
        var report = FsyncProbe.Run(dir, seconds);
        stderr.WriteLine($"fsync: {report.Records} records of {FsyncProbe.RecordBytes} B in {report.Seconds} s");
        stdout.WriteLine(report.ToJson());
        return 0;
    }
}
