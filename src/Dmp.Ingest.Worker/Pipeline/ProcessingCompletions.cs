using System.Collections.Concurrent;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>
/// Lets a receiver wait for the processing outcome of the message it just stored
/// (`Dmp:Mllp:AckMode=Processed`: the ACK waits for mapping and applying). Either side may come
/// first: both take the same completion source for the message id.
/// </summary>
public sealed class ProcessingCompletions
{
    private readonly ConcurrentDictionary<long, Entry> _entries = new();

    /// <summary>True when a receiver may be waiting (Processed mode); otherwise the worker records nothing.</summary>
    public bool Enabled { get; init; }

    public async Task<ProcessingResult?> WaitAsync(long messageId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(messageId, static _ => new Entry());
        try
        {
            return await entry.Source.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _entries.TryRemove(new KeyValuePair<long, Entry>(messageId, entry));
        }
    }

    public void Complete(IEnumerable<ProcessingResult> results)
    {
        if (!Enabled)
            return;
        foreach (var result in results)
            _entries.GetOrAdd(result.Id, static _ => new Entry()).Source.TrySetResult(result);
        // Outcomes nobody waited for (replays, resends answered from storage) are dropped after a while.
        if (_entries.Count > 1024)
        {
            var old = DateTime.UtcNow - TimeSpan.FromMinutes(5);
            foreach (var pair in _entries)
                if (pair.Value.Created < old)
                    _entries.TryRemove(pair);
        }
    }

    private sealed class Entry
    {
        public TaskCompletionSource<ProcessingResult> Source { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public DateTime Created { get; } = DateTime.UtcNow;
    }
}
