using System.Diagnostics;
using System.Text.Json.Serialization;

namespace Dmp.LoadGen;

/// <summary>
/// The disk's durable-append rate: 1 KiB records appended to one file, each followed by an fsync. A gateway that
/// ACKs only once a message is durable cannot exceed this rate per commit; grouped commits are how it does better.
/// </summary>
public static class FsyncProbe
{
    public const int RecordBytes = 1024;

    public static FsyncReport Run(string directory, double seconds)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"--dir {directory} does not exist");
        var path = Path.Combine(directory, $"dmp-fsync-{Environment.ProcessId}-{Guid.NewGuid():N}.bin");
        var record = new byte[RecordBytes];
        Random.Shared.NextBytes(record);
        long records = 0;
        var clock = Stopwatch.StartNew();
        using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.DeleteOnClose))
        {
            var limit = TimeSpan.FromSeconds(seconds);
            long offset = 0;
            while (clock.Elapsed < limit)
            {
                RandomAccess.Write(handle, record, offset);
                RandomAccess.FlushToDisk(handle);
                offset += RecordBytes;
                records++;
            }
        }
        var elapsed = clock.Elapsed.TotalSeconds;
        return new FsyncReport { FsyncPerSecond = Math.Round(records / elapsed, 1), Records = records, Seconds = Math.Round(elapsed, 2), Directory = Path.GetFullPath(directory) };
    }
}

/// <summary>What `fsync` prints as its last line.</summary>
public sealed record FsyncReport
{
    [JsonPropertyName("fsync_per_s")] public double FsyncPerSecond { get; init; }
    [JsonPropertyName("records")] public long Records { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("dir")] public string Directory { get; init; } = "";

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this);
}
