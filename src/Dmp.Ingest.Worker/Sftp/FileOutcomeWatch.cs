using System.Collections.Concurrent;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.Sftp;

/// <summary>An archived file and the inbox rows it became.</summary>
public sealed record ArchivedFile(string Path, string Name, IReadOnlyList<long> MessageIds);

/// <summary>
/// Follows archived files until their messages are processed: a file whose message ends <c>failed</c> or
/// <c>rejected</c> is due for <c>error/</c> (the poller moves it at its next poll). Files are archived as
/// soon as their bytes are committed — processing comes later — so the verdict can only come then.
/// After a restart, the first poll of a source looks up its failed and rejected messages once, so a file
/// archived by an earlier run is still set aside. A file already in error/ stays there whatever a replay does.
/// </summary>
public sealed class FileOutcomeWatch(StoreLifetime store, ILogger<FileOutcomeWatch> logger)
{
    /// <summary>Rows looked at by the once-per-start lookup, per status: a bound on a very old backlog.</summary>
    private const int RecoveryLimit = 5000;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, ArchivedFile>> _watched = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _recovered = new(StringComparer.Ordinal);

    /// <summary>Follows <paramref name="file"/> of <paramref name="source"/> until its messages are processed.</summary>
    public void Watch(string source, ArchivedFile file) =>
        _watched.GetOrAdd(source, _ => new(StringComparer.Ordinal))[file.Path] = file;

    /// <summary>The archived files of <paramref name="source"/> whose messages ended failed or rejected, with why; each is returned once.</summary>
    public async Task<IReadOnlyList<(ArchivedFile File, string Reason)>> DueAsync(string source, string archiveFolder, CancellationToken ct)
    {
        var due = new List<(ArchivedFile, string)>();
        if (_recovered.TryAdd(source, true))
            due.AddRange(await RecoverAsync(source, archiveFolder, ct));
        if (!_watched.TryGetValue(source, out var files))
            return due;
        foreach (var file in files.Values)
        {
            var failures = new List<string>();
            var pending = false;
            foreach (var id in file.MessageIds)
            {
                var detail = await store.Store.Queries.GetAsync(id, ct);
                var status = detail?.Message.Status;
                if (status == InboxStatus.Accepted)
                    pending = true;
                else if (status is InboxStatus.Failed or InboxStatus.Rejected)
                    failures.Add(Line(detail!.Message));
            }
            if (pending && failures.Count == 0)
                continue;
            files.TryRemove(file.Path, out _);
            if (failures.Count > 0)
                due.Add((file, Reason(failures, file.MessageIds.Count)));
        }
        return due;
    }

    private async Task<List<(ArchivedFile, string)>> RecoverAsync(string source, string archiveFolder, CancellationToken ct)
    {
        var byFile = new Dictionary<string, List<InboundMessageSummary>>(StringComparer.Ordinal);
        foreach (var status in new[] { InboxStatus.Failed, InboxStatus.Rejected })
        {
            string? cursor = null;
            var seen = 0;
            do
            {
                var page = await store.Store.Queries.ListAsync(new InboxFilter { Status = status }, InboxQueries.MaxLimit, cursor, ct);
                foreach (var message in page.Items.Where(m => m.Channel == source && m.FileName is not null))
                {
                    if (!byFile.TryGetValue(message.FileName!, out var list))
                        byFile[message.FileName!] = list = [];
                    list.Add(message);
                }
                seen += page.Items.Count;
                cursor = page.NextCursor;
            }
            while (cursor is not null && seen < RecoveryLimit);
        }
        if (byFile.Count > 0)
            logger.LogInformation("File source {Source}: {Count} file(s) with failed or rejected messages; those still in archive/ go to error/", source, byFile.Count);
        return byFile.Select(f =>
        {
            var name = SourcePath.FileName(f.Key);
            var file = new ArchivedFile(SourcePath.Combine(archiveFolder, name), name, f.Value.Select(m => m.Id).ToList());
            return (file, Reason(f.Value.Select(Line).ToList(), f.Value.Count));
        }).ToList();
    }

    private static string Line(InboundMessageSummary message) =>
        $"message {message.Id}: {message.Status}{(message.Error is { } error ? ": " + error : "")} (details: GET /api/messages/{message.Id})";

    private static string Reason(List<string> failures, int total) =>
        (total == 1 ? "processed, and it did not go through:" : $"processed: {failures.Count} of its {total} messages did not go through:")
        + "\n" + string.Join('\n', failures);
}
