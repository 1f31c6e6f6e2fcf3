using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;

namespace Dmp.LoadGen;

/// <summary>
/// The embedded database's durable-commit rate on the same disk: one row of N bytes inserted per transaction, in WAL
/// mode with synchronous=FULL (the gateway's settings), through one prepared statement. Beside <see cref="FsyncProbe"/>
/// it shows what SQLite itself costs per commit above a bare append + fsync: the ceiling of a gateway that stores each
/// message before its ACK on one connection, where nothing can be grouped.
/// </summary>
public static class SqliteCommitProbe
{
    public static SqliteCommitReport Run(string directory, double seconds, int bytes)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"--dir {directory} does not exist");
        var path = Path.Combine(directory, $"dmp-commit-{Environment.ProcessId}-{Guid.NewGuid():N}.db");
        var body = new byte[bytes];
        Random.Shared.NextBytes(body);
        long commits = 0;
        TimeSpan elapsed;
        try
        {
            using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            using (var setup = connection.CreateCommand())
            {
                setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE probe (id INTEGER PRIMARY KEY, body BLOB NOT NULL);";
                setup.ExecuteNonQuery();
            }

            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO probe (body) VALUES ($body);";
            var parameter = insert.Parameters.Add("$body", SqliteType.Blob);
            var limit = TimeSpan.FromSeconds(seconds);
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < limit)
            {
                using var transaction = connection.BeginTransaction();
                insert.Transaction = transaction;
                parameter.Value = body;
                insert.ExecuteNonQuery();
                transaction.Commit();
                commits++;
            }
            elapsed = clock.Elapsed;
        }
        finally
        {
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
                File.Delete(file);
        }

        return new SqliteCommitReport
        {
            CommitsPerSecond = Math.Round(commits / elapsed.TotalSeconds, 1), Commits = commits, Bytes = bytes,
            Seconds = Math.Round(elapsed.TotalSeconds, 2), Directory = Path.GetFullPath(directory),
        };
    }
}

/// <summary>What `fsync --sqlite` prints as its last line.</summary>
public sealed record SqliteCommitReport
{
    [JsonPropertyName("sqlite_commits_per_s")] public double CommitsPerSecond { get; init; }
    [JsonPropertyName("commits")] public long Commits { get; init; }
    [JsonPropertyName("bytes")] public int Bytes { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("dir")] public string Directory { get; init; } = "";

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this);
}
