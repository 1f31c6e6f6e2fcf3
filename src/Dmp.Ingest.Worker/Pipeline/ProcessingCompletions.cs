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

    /// <summary>The clock that ages outcomes nobody waited for (the host's TimeProvider).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public async Task<ProcessingResult?> WaitAsync(long messageId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(messageId, static (_, time) => new Entry(time.GetUtcNow()), Time);
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
            _entries.GetOrAdd(result.Id, static (_, time) => new Entry(time.GetUtcNow()), Time).Source.TrySetResult(result);
        // Outcomes nobody waited for (replays, resends answered from storage) are dropped after a while.
        if (_entries.Count > 1024)
        {
            var old = Time.GetUtcNow() - TimeSpan.FromMinutes(5);
            foreach (var pair in _entries)
                if (pair.Value.Created < old)
                    _entries.TryRemove(pair);
        }
    }

    private sealed class Entry(DateTimeOffset created)
    {
        public TaskCompletionSource<ProcessingResult> Source { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public DateTimeOffset Created { get; } = created;
    }
}
