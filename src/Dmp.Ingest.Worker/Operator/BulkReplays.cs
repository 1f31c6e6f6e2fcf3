using System.Collections.Concurrent;
using System.Globalization;

namespace Dmp.Ingest.Worker.Operator;

/// <summary>
/// The bulk replays of this process and their progress, in memory: a restart forgets them (the messages already put
/// back in the queue are processed all the same; those not yet reached stay as they were and can be replayed again).
/// </summary>
public sealed class BulkReplays
{
    /// <summary>How many finished replays are remembered (the oldest are forgotten first).</summary>
    public const int Kept = 100;

    private readonly ConcurrentDictionary<string, BulkReplay> _replays = new(StringComparer.Ordinal);
    private long _next;

    public BulkReplay Start(int total)
    {
        var id = string.Create(CultureInfo.InvariantCulture, $"r{Interlocked.Increment(ref _next)}-{Guid.NewGuid():N}")[..16];
        var replay = new BulkReplay(id, total);
        _replays[id] = replay;
        foreach (var old in _replays.Values.Where(r => r.Finished).OrderBy(r => r.StartedAt).SkipLast(Kept).ToList())
            _replays.TryRemove(old.Id, out _);
        return replay;
    }

    public BulkReplay? Find(string id) => _replays.GetValueOrDefault(id);
}

/// <summary>One bulk replay: how many messages it takes, how many were put back in the queue, how many could not be.</summary>
public sealed class BulkReplay(string id, int total)
{
    private int _done;
    private int _failed;
    private int _finished;

    public string Id { get; } = id;
    public int Total { get; } = total;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>Messages put back in the queue.</summary>
    public int Done => Volatile.Read(ref _done);

    /// <summary>Messages that could not be (their status changed meanwhile, their raw bytes were purged, the store failed).</summary>
    public int Failed => Volatile.Read(ref _failed);

    public bool Finished => Volatile.Read(ref _finished) != 0;

    public void Requeued() => Interlocked.Increment(ref _done);

    public void Refused() => Interlocked.Increment(ref _failed);

    public void Finish() => Volatile.Write(ref _finished, 1);

    public object ToJson() => new { id = Id, total = Total, done = Done, failed = Failed, state = Finished ? "done" : "running" };
}
