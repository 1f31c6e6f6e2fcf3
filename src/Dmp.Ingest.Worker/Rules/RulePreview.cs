using System.Diagnostics;
using Dmp.Mapping.Rules;
using Dmp.Store;
using Dmp.Store.Inbox;

namespace Dmp.Ingest.Worker.RuleWorkbench;

/// <summary>How a stored message's mapping changes from the loaded rules to the rules on disk.</summary>
public static class PreviewChanges
{
    public const string MappedDifferently = "mapped-differently";
    public const string NowFails = "now-fails";
    public const string NowMaps = "now-maps";
}

/// <summary>One stored message whose mapping changes: what changes, the field diff, and the errors on either side.</summary>
public sealed record PreviewItem(
    long Id, string? ControlId, string? Sender, string? MessageType, string Change,
    IReadOnlyList<FieldChange> Diff, int DiffTotal, string? BeforeError, string? AfterError);

/// <summary>
/// What a preview found: how many messages it examined, changed and failing with the disk rules, how many it skipped
/// (raw bytes purged or missing), whether it stopped early (time, item cap) and why, and the changed messages.
/// </summary>
public sealed record PreviewResult(int Examined, int Changed, int Failed, int Skipped, bool Partial, string? Reason, IReadOnlyList<PreviewItem> Items);

/// <summary>
/// Runs the rules on disk against stored messages and compares with the loaded rules: read-only (it reads raw bytes and
/// maps them in memory; nothing is stored, replayed or audited per message), newest first, bounded by a count
/// (<see cref="MaxLimit"/>) and a time (an answer flagged partial when the time runs out), cancelled with its request.
/// </summary>
public static class RulePreview
{
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 10_000;

    /// <summary>The most changed messages listed (all are counted).</summary>
    public const int MaxItems = 1000;

    private const int PageSize = 500;

    /// <exception cref="OperationCanceledException"><paramref name="aborted"/> was cancelled (the caller went away).</exception>
    public static async Task<PreviewResult> RunAsync(
        DmpStore store, InboxFilter filter, int limit, RuleSet loaded, RuleSet disk, TimeSpan timeout, CancellationToken aborted)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(filter);
        limit = Math.Clamp(limit, 1, MaxLimit);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timer.CancelAfter(timeout);
        var clock = Stopwatch.StartNew();
        int examined = 0, changed = 0, failed = 0, skipped = 0;
        var items = new List<PreviewItem>();
        string? cursor = null;
        var timedOut = false;
        try
        {
            while (examined + skipped < limit)
            {
                var page = await store.Queries.ListAsync(filter, Math.Min(PageSize, limit - examined - skipped), cursor, timer.Token).ConfigureAwait(false);
                foreach (var message in page.Items)
                {
                    timer.Token.ThrowIfCancellationRequested();
                    var raw = message.RawPurgedAt is null ? await store.Queries.GetRawAsync(message.Id, timer.Token).ConfigureAwait(false) : null;
                    if (raw is null)
                    {
                        skipped++;
                        continue;
                    }
                    examined++;
                    var channel = RuleTrial.ChannelOf(message.Sender);
                    var before = RuleTrial.Run(raw, channel, loaded, explain: false);
                    var after = RuleTrial.Run(raw, channel, disk, explain: false);
                    if (after.Error is not null)
                        failed++;
                    if (Compare(message, before, after) is not { } item)
                        continue;
                    changed++;
                    if (items.Count < MaxItems)
                        items.Add(item);
                }
                if (page.NextCursor is null || page.Items.Count == 0)
                    break;
                cursor = page.NextCursor;
            }
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            timedOut = true;
        }

        var reason = timedOut
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"stopped after {clock.Elapsed.TotalSeconds:0.#} s (Dmp:Rules:PreviewTimeoutSeconds): the counts cover the messages examined so far, newest first")
            : changed > items.Count ? $"{changed} messages changed: the first {items.Count} are listed" : null;
        return new PreviewResult(examined, changed, failed, skipped, timedOut, reason, items);
    }

    private static PreviewItem? Compare(InboundMessageSummary message, TrialResult before, TrialResult after)
    {
        string change;
        if (before.Error is not null && after.Error is not null)
        {
            if (before.ErrorText == after.ErrorText)
                return null;
            change = PreviewChanges.MappedDifferently;
        }
        else if (after.Error is not null)
        {
            change = PreviewChanges.NowFails;
        }
        else if (before.Error is not null)
        {
            change = PreviewChanges.NowMaps;
        }
        else
        {
            change = PreviewChanges.MappedDifferently;
        }

        var (diff, total) = BundleDiff.Compare(before.Bundle, after.Bundle);
        if (change == PreviewChanges.MappedDifferently && total == 0 && before.ErrorText == after.ErrorText)
            return null;
        return new PreviewItem(message.Id, message.ControlId, message.Sender, message.MessageType, change, diff, total, before.ErrorText, after.ErrorText);
    }

    public static object ToJson(PreviewResult result) => new
    {
        examined = result.Examined,
        changed = result.Changed,
        failed = result.Failed,
        skipped = result.Skipped,
        partial = result.Partial,
        reason = result.Reason,
        items = result.Items.Select(i => new
        {
            id = i.Id,
            controlId = i.ControlId,
            messageType = i.MessageType,
            change = i.Change,
            diff = i.Diff.Select(d => new { resource = d.Resource, path = d.Path, before = d.Before, after = d.After }),
            diffTotal = i.DiffTotal,
            errorBefore = i.BeforeError,
            errorAfter = i.AfterError,
            link = $"/api/messages/{i.Id}",
        }),
    };
}
