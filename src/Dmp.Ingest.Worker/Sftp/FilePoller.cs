using System.Collections.Concurrent;
using System.Globalization;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Store.Inbox;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Sftp;

/// <summary>What one poll of one source did (counts only: no contents).</summary>
public sealed record PollResult(
    string Source,
    int Listed,
    int Waiting,
    int Taken,
    int Messages,
    int Duplicates,
    int Archived,
    int Deleted,
    int SetAside,
    int MoveFailures,
    string? Error);

/// <summary>
/// Polls file sources into the inbox. A file is taken once stable (same size and time across two polls, or
/// a <c>NAME.done</c> marker); its bytes go through <see cref="InboundReceiver"/> (channel = the source's
/// name, file name = its path); only once they are committed is it archived or deleted. A crash or a
/// failed move between the two leaves the file where it was: the next poll stores nothing new (same sender,
/// file name or control id, and SHA-256: a resend) and moves it then. A file refused at the door, or that
/// cannot be read, goes to <c>error/</c> with <c>NAME.reason.txt</c> beside it; so does an archived file
/// whose message later ends <c>failed</c> or <c>rejected</c> (see <see cref="FileOutcomeWatch"/>).
/// </summary>
public sealed class FilePoller(
    InboundReceiver receiver,
    IOptions<SftpOptions> options,
    IFileSourceFactory factory,
    FileOutcomeWatch outcomes,
    ILogger<FilePoller> logger,
    TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public const string ArchiveFolder = "archive";
    public const string ErrorFolder = "error";
    public const string DoneSuffix = ".done";
    public const string ReasonSuffix = ".reason.txt";
    /// <summary>Files read and handed to the inbox together (one grouped commit serves them all).</summary>
    private const int Chunk = 16;

    private readonly ConcurrentDictionary<string, SourceState> _states = new(StringComparer.Ordinal);

    public IReadOnlyList<FileSourceOptions> Sources => options.Value.Sources;

    public Task<PollResult> PollOnceAsync(string sourceName, CancellationToken cancellationToken = default)
    {
        var source = options.Value.Sources.FirstOrDefault(s => s.Name == sourceName)
            ?? throw new ArgumentException($"no file source named '{sourceName}' in {SftpOptions.Section}:Sources", nameof(sourceName));
        return PollOnceAsync(source, cancellationToken);
    }

    public async Task<PollResult> PollOnceAsync(FileSourceOptions source, CancellationToken cancellationToken = default)
    {
        var state = _states.GetOrAdd(source.Name, _ => new SourceState());
        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            return await PollAsync(source, state, cancellationToken);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    private async Task<PollResult> PollAsync(FileSourceOptions source, SourceState state, CancellationToken ct)
    {
        var counts = new Counts();
        IFileSource files;
        try
        {
            files = await factory.OpenAsync(source, ct);
        }
        catch (FileSourceRefusedException e)
        {
            logger.LogError("File source {Source}: poll skipped, nothing read: {Reason}", source.Name, e.Message);
            return counts.Result(source.Name, e.Message);
        }

        await using (files)
        {
            var folder = source.Folder;
            IReadOnlyList<SourceFile> listing;
            try
            {
                listing = await files.ListAsync(folder, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("File source {Source}: cannot list {Folder} at {Endpoint}: {Error}", source.Name, folder, files.Endpoint, e.GetType().Name);
                return counts.Result(source.Name, $"cannot list {folder}: {e.GetType().Name}");
            }

            await SetAsideFailedAsync(source, files, counts, ct);

            var pattern = source.PatternRegex();
            var present = listing.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
            var candidates = listing
                .Where(f => pattern.IsMatch(f.Name) && !(source.StableBy == StableBy.DoneMarker && f.Name.EndsWith(DoneSuffix, StringComparison.Ordinal)))
                .ToList();
            counts.Listed = candidates.Count;

            var ready = new List<SourceFile>();
            var seen = new Dictionary<string, (long, DateTime)>(StringComparer.Ordinal);
            foreach (var file in candidates)
            {
                seen[file.Path] = (file.Size, file.LastWriteUtc);
                var stable = source.StableBy == StableBy.DoneMarker
                    ? present.Contains(file.Name + DoneSuffix)
                    : state.LastSeen.TryGetValue(file.Path, out var before) && before == (file.Size, file.LastWriteUtc);
                if (stable)
                    ready.Add(file);
                else
                    counts.Waiting++;
            }
            state.LastSeen = seen;

            ready.Sort((a, b) => a.LastWriteUtc != b.LastWriteUtc ? a.LastWriteUtc.CompareTo(b.LastWriteUtc) : string.CompareOrdinal(a.Name, b.Name));
            for (var i = 0; i < ready.Count; i += Chunk)
                await IngestChunkAsync(source, files, ready.GetRange(i, Math.Min(Chunk, ready.Count - i)), state, counts, ct);
        }

        var result = counts.Result(source.Name, null);
        if (result.Taken > 0 || result.MoveFailures > 0)
        {
            logger.LogInformation(
                "File source {Source}: {Taken} file(s) taken of {Listed} listed, {Messages} new message(s), {Duplicates} already stored, {Archived} archived, {Deleted} deleted, {SetAside} set aside in error/, {MoveFailures} left in place (move failed), {Waiting} waiting to be complete",
                source.Name, result.Taken, result.Listed, result.Messages, result.Duplicates, result.Archived, result.Deleted, result.SetAside, result.MoveFailures, result.Waiting);
        }
        else
        {
            logger.LogDebug("File source {Source}: nothing to take ({Listed} listed, {Waiting} waiting to be complete)", source.Name, result.Listed, result.Waiting);
        }
        return result;
    }

    private async Task IngestChunkAsync(FileSourceOptions source, IFileSource files, List<SourceFile> chunk, SourceState state, Counts counts, CancellationToken ct)
    {
        // Read each file and hand it to the inbox at once; the grouped commit writes them together.
        var pending = new List<(SourceFile File, Task<IReadOnlyList<ReceiveOutcome>> Receive)>();
        var sender = source.Sender();
        foreach (var file in chunk)
        {
            byte[] bytes;
            try
            {
                bytes = await files.ReadAsync(file.Path, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("File source {Source}: {File} cannot be read ({Error}): set aside in error/", source.Name, LogName(file.Path), e.GetType().Name);
                await SetAsideAsync(source, files, file, $"the file could not be read: {e.GetType().Name}", counts, ct);
                continue;
            }
            if (source.StableBy == StableBy.SizeAndTime && bytes.LongLength != file.Size)
            {
                // Still being written: wait for two more polls that agree.
                state.LastSeen.Remove(file.Path);
                counts.Waiting++;
                continue;
            }
            counts.Taken++;
            pending.Add((file, receiver.ReceiveFileAsync(new ReceivedInput(source.Name, bytes, files.Endpoint, file.Path) { Senders = sender }, ct)));
        }

        foreach (var (file, receive) in pending)
        {
            IReadOnlyList<ReceiveOutcome> outcomes;
            try
            {
                outcomes = await receive;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Not committed: the file stays where it is and is taken again on a later poll.
                logger.LogError("File source {Source}: {File} could not be stored ({Error}); left in place for the next poll", source.Name, LogName(file.Path), e.GetType().Name);
                counts.MoveFailures++;
                continue;
            }
            counts.Messages += outcomes.Count(o => !o.Duplicate);
            counts.Duplicates += outcomes.Count(o => o.Duplicate);
            logger.LogDebug("File source {Source}: {File} stored as {Count} message(s) ({Duplicates} already stored)",
                source.Name, file.Path, outcomes.Count, outcomes.Count(o => o.Duplicate));

            var rejected = outcomes.Where(o => o.Status == InboxStatus.Rejected).ToList();
            if (rejected.Count > 0)
            {
                logger.LogWarning("File source {Source}: {File} refused at the inbox door ({Rejected} of {Count} message(s)): set aside in error/",
                    source.Name, LogName(file.Path), rejected.Count, outcomes.Count);
                await SetAsideAsync(source, files, file, RejectionReason(rejected, outcomes.Count), counts, ct);
                continue;
            }
            await AfterIngestAsync(source, files, file, outcomes.Select(o => o.MessageId).ToList(), counts, ct);
        }
    }

    /// <summary>Archived files whose messages ended failed or rejected since the last poll go to error/ with the reason.</summary>
    private async Task SetAsideFailedAsync(FileSourceOptions source, IFileSource files, Counts counts, CancellationToken ct)
    {
        if (source.AfterIngest != AfterIngest.Archive)
            return;
        IReadOnlyList<(ArchivedFile File, string Reason)> due;
        try
        {
            due = await outcomes.DueAsync(source.Name, SourcePath.Combine(source.Folder, ArchiveFolder), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("File source {Source}: cannot look up the outcome of archived files ({Error}); trying again next poll", source.Name, e.GetType().Name);
            return;
        }
        foreach (var (archived, reason) in due)
        {
            if (!await files.ExistsAsync(archived.Path, ct))
                continue;
            logger.LogWarning("File source {Source}: {File} ended failed or rejected: moved from archive/ to error/", source.Name, LogName(archived.Path));
            await SetAsideAsync(source, files, new SourceFile(archived.Name, archived.Path, 0, default), reason, counts, ct, fromArchive: true);
        }
    }

    private async Task AfterIngestAsync(FileSourceOptions source, IFileSource files, SourceFile file, IReadOnlyList<long> messageIds, Counts counts, CancellationToken ct)
    {
        try
        {
            if (source.AfterIngest == AfterIngest.Delete)
            {
                await files.DeleteAsync(file.Path, ct);
                counts.Deleted++;
            }
            else
            {
                var archive = SourcePath.Combine(source.Folder, ArchiveFolder);
                await files.EnsureFolderAsync(archive, ct);
                var target = await FreeNameAsync(files, archive, file.Name, ct);
                await files.MoveAsync(file.Path, target, ct);
                counts.Archived++;
                outcomes.Watch(source.Name, new ArchivedFile(target, file.Name, messageIds));
            }
            await DeleteMarkerAsync(source, files, file, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The bytes are committed: the next poll finds a resend and moves the file then.
            logger.LogWarning("File source {Source}: {File} is stored but could not be {Action} ({Error}); it will be recognised as already stored and moved on a later poll",
                source.Name, LogName(file.Path), source.AfterIngest == AfterIngest.Delete ? "deleted" : "archived", e.GetType().Name);
            counts.MoveFailures++;
        }
    }

    private async Task SetAsideAsync(FileSourceOptions source, IFileSource files, SourceFile file, string reason, Counts counts, CancellationToken ct, bool fromArchive = false)
    {
        try
        {
            var error = SourcePath.Combine(source.Folder, ErrorFolder);
            await files.EnsureFolderAsync(error, ct);
            var target = await FreeNameAsync(files, error, file.Name, ct, alsoFree: ReasonSuffix);
            await files.MoveAsync(file.Path, target, ct);
            var text = string.Create(CultureInfo.InvariantCulture,
                $"{file.Name} from file source {source.Name}, set aside at {_time.GetUtcNow():yyyy-MM-ddTHH:mm:ssZ}\n{reason}\n");
            await files.WriteTextAsync(target + ReasonSuffix, text, ct);
            if (!fromArchive)
                await DeleteMarkerAsync(source, files, file, ct);
            counts.SetAside++;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError("File source {Source}: {File} could not be set aside in error/ ({Error}); left in place", source.Name, LogName(file.Path), e.GetType().Name);
            counts.MoveFailures++;
        }
    }

    private static async Task DeleteMarkerAsync(FileSourceOptions source, IFileSource files, SourceFile file, CancellationToken ct)
    {
        if (source.StableBy != StableBy.DoneMarker)
            return;
        var marker = file.Path + DoneSuffix;
        if (await files.ExistsAsync(marker, ct))
            await files.DeleteAsync(marker, ct);
    }

    /// <summary>The name itself when free in <paramref name="folder"/>, else the name with a time stamp (and a counter) before its extension.</summary>
    private async Task<string> FreeNameAsync(IFileSource files, string folder, string name, CancellationToken ct, string alsoFree = "")
    {
        async Task<bool> Free(string candidate) =>
            !await files.ExistsAsync(candidate, ct) && (alsoFree.Length == 0 || !await files.ExistsAsync(candidate + alsoFree, ct));

        var first = SourcePath.Combine(folder, name);
        if (await Free(first))
            return first;
        var dot = name.LastIndexOf('.');
        var (stem, extension) = dot > 0 ? (name[..dot], name[dot..]) : (name, "");
        var stamp = _time.GetUtcNow().ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture);
        for (var n = 0; ; n++)
        {
            var candidate = SourcePath.Combine(folder, n == 0 ? $"{stem}.{stamp}{extension}" : $"{stem}.{stamp}-{n}{extension}");
            if (await Free(candidate))
                return candidate;
        }
    }

    private static string RejectionReason(List<ReceiveOutcome> rejected, int total)
    {
        var lines = rejected.Select(o => $"message {o.MessageId}: {o.Refusal ?? "rejected"} (details: GET /api/messages/{o.MessageId})");
        var head = total == 1
            ? "refused at the inbox door:"
            : $"refused at the inbox door: {rejected.Count} of its {total} messages (the others are stored and will be processed):";
        return head + "\n" + string.Join('\n', lines);
    }

    private sealed class SourceState
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public Dictionary<string, (long Size, DateTime LastWriteUtc)> LastSeen { get; set; } = new(StringComparer.Ordinal);
    }

    private sealed class Counts
    {
        public int Listed, Waiting, Taken, Messages, Duplicates, Archived, Deleted, SetAside, MoveFailures;

        public PollResult Result(string source, string? error) =>
            new(source, Listed, Waiting, Taken, Messages, Duplicates, Archived, Deleted, SetAside, MoveFailures, error);
    }

    /// <summary>
    /// How a file is named in logs at Information and above: senders put patient names or IPPs in file names, so
    /// the log shows a short hash of the path instead; the row's fileName (operator API) and the error/ folder
    /// hold the real name.
    /// </summary>
    internal static string LogName(string path) =>
        "file#" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(path)))[..10];
}
