using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Inbox;

/// <summary>
/// Counts and times of the inbox for the gauges and the alert rules: messages per status, how long the oldest
/// waiting message has waited, messages entering <c>failed</c> / <c>rejected</c> since an instant, a configured
/// sender's last message. Each figure is one statement, an index seek or range (migration 0013) except the count
/// per status, which reads the status index whole: its caller decides how often that is worth it.
/// </summary>
public sealed class InboxFigures
{
    /// <summary>How many waiting messages, in arrival order, <see cref="OldestAcceptedSinceAsync"/> looks at.</summary>
    public const int OldestAcceptedWindow = 1000;

    private readonly SqlDialect _connections;

    public InboxFigures(SqlDialect connections)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
    }

    /// <summary>Messages per status, every status of <see cref="InboxStatus.All"/> present (0 when none).</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        var counts = InboxStatus.All.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<(string Status, long Count)>(new CommandDefinition(
                "SELECT status, COUNT(*) FROM inbound_message GROUP BY status;",
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            foreach (var (status, count) in rows)
                counts[status] = count;
        }

        return counts;
    }

    /// <summary>Messages waiting for processing (<c>accepted</c>), of one configured sender when <paramref name="senderName"/> is given.</summary>
    public async Task<long> CountAcceptedAsync(string? senderName, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                CountAcceptedSql(senderName is not null),
                new { InboxStatus.Accepted, SenderName = senderName }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Since when the longest-waiting <c>accepted</c> message has waited (null when none waits): the time it last
    /// became <c>accepted</c> — received, released from hold, or replay requested; a resend does not restart it.
    /// Looks at the first <see cref="OldestAcceptedWindow"/> waiting messages in arrival order, so the cost stays
    /// bounded under a large backlog (a later arrival has waited less unless over a thousand replays are queued before it).
    /// </summary>
    public async Task<DateTimeOffset?> OldestAcceptedSinceAsync(string? senderName, CancellationToken cancellationToken)
    {
        var sql = OldestAcceptedSql(_connections, senderName is not null);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var since = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                sql,
                new { InboxStatus.Accepted, Resent = InboxHistoryDetail.Resent, SenderName = senderName, Window = OldestAcceptedWindow },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return since is null ? null : StoreTime.Read(since);
        }
    }

    /// <summary>
    /// Messages that entered <c>failed</c> or <c>rejected</c> at or after <paramref name="since"/> (each entry counts: a
    /// replay that fails again counts again; a resend of a rejected frame does not), of one configured sender when
    /// <paramref name="senderName"/> is given.
    /// </summary>
    public async Task<FinalEntries> CountEnteredSinceAsync(DateTimeOffset since, string? senderName, CancellationToken cancellationToken)
    {
        var sql = EnteredSinceSql(senderName is not null);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<(string Status, long Count)>(new CommandDefinition(
                sql,
                new { Since = StoreTime.Write(since), Resent = InboxHistoryDetail.Resent, SenderName = senderName },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            long failed = 0, rejected = 0;
            foreach (var (status, count) in rows)
            {
                if (status == InboxStatus.Failed)
                    failed = count;
                else
                    rejected = count;
            }

            return new FinalEntries(failed, rejected);
        }
    }

    /// <summary>
    /// When each named configured sender (<c>sender_name</c>) last sent a message, a resend included; a sender that
    /// never sent one is absent.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, DateTimeOffset>> LastReceivedAsync(
        IEnumerable<string> senderNames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(senderNames);
        var last = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // One seek per sender on (sender_name, last_received_at): a handful of senders, never a walk of the inbox.
            foreach (var name in senderNames.Distinct(StringComparer.Ordinal))
            {
                var at = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                    LastReceivedSql, new { SenderName = name }, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (at is not null)
                    last[name] = StoreTime.Read(at);
            }
        }

        return last;
    }

    /// <summary>
    /// Messages received at or after <paramref name="since"/>, counted per minute (UTC) and by ACK code, status and configured
    /// sender: an hour of heavy traffic is a few hundred rows, not one per message (the dashboard's chart and sender rows).
    /// </summary>
    public async Task<IReadOnlyList<MinuteTraffic>> ReceivedPerMinuteAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<MinuteRow>(new CommandDefinition(
                ReceivedPerMinuteSql, new { Since = StoreTime.Write(since) }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return [.. rows.Select(r => new MinuteTraffic(MinuteOf(r.Minute), r.AckCode, r.Status, r.SenderName, r.Count))];
        }
    }

    /// <summary>
    /// Entries into <c>failed</c> or <c>rejected</c> at or after <paramref name="since"/> per minute (UTC), counted as
    /// <see cref="CountEnteredSinceAsync"/> counts them (a resend of a rejected frame does not count again).
    /// </summary>
    public async Task<IReadOnlyList<(DateTimeOffset Minute, long Count)>> FailedPerMinuteAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<(string Minute, long Count)>(new CommandDefinition(
                FailedPerMinuteSql, new { Since = StoreTime.Write(since), Resent = InboxHistoryDetail.Resent },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return [.. rows.Select(r => (MinuteOf(r.Minute), r.Count))];
        }
    }

    // The minute is the first 16 characters of the store's fixed-width text time (yyyy-MM-ddTHH:mm): SUBSTRING(text,
    // start, length) reads the same on SQLite, PostgreSQL and SQL Server, and the range on the time stays an index range.
    internal const string ReceivedPerMinuteSql =
        """
        SELECT SUBSTRING(received_at, 1, 16) AS Minute, ack_code AS AckCode, status AS Status, sender_name AS SenderName,
            CAST(COUNT(*) AS BIGINT) AS Count
        FROM inbound_message WHERE received_at >= @Since GROUP BY SUBSTRING(received_at, 1, 16), ack_code, status, sender_name;
        """;

    internal const string FailedPerMinuteSql =
        """
        SELECT SUBSTRING(h.at, 1, 16), CAST(COUNT(*) AS BIGINT) FROM inbound_message_history h
        WHERE h.status IN ('failed', 'rejected') AND h.at >= @Since AND (h.detail IS NULL OR h.detail <> @Resent)
        GROUP BY SUBSTRING(h.at, 1, 16);
        """;

    private static DateTimeOffset MinuteOf(string minute) =>
        DateTimeOffset.ParseExact(minute, "yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal);

    // Settable properties, not a positional record: on an empty result SQLite names no column types, and Dapper then
    // finds no constructor to match.
    private sealed class MinuteRow
    {
        public string Minute { get; set; } = "";
        public string? AckCode { get; set; }
        public string Status { get; set; } = "";
        public string? SenderName { get; set; }
        public long Count { get; set; }
    }

    internal static string CountAcceptedSql(bool bySender) =>
        "SELECT COUNT(*) FROM inbound_message WHERE status = @Accepted" + (bySender ? " AND sender_name = @SenderName" : "") + ";";

    internal static string OldestAcceptedSql(SqlDialect dialect, bool bySender) =>
        """
        SELECT MIN(COALESCE(
            (SELECT MAX(h.at) FROM inbound_message_history h
             WHERE h.message_id = w.id AND h.status = @Accepted AND (h.detail IS NULL OR h.detail <> @Resent)),
            w.received_at))
        FROM (SELECT id, received_at FROM inbound_message WHERE status = @Accepted
        """
        + (bySender ? " AND sender_name = @SenderName" : "")
        + " ORDER BY id" + dialect.Limit("@Window") + ") w;";

    // The status list is written out, not a parameter: it is the partial index's predicate, which a planner can only
    // match against the same literal text.
    internal static string EnteredSinceSql(bool bySender) =>
        "SELECT h.status, COUNT(*) FROM inbound_message_history h"
        + (bySender ? " JOIN inbound_message m ON m.id = h.message_id AND m.sender_name = @SenderName" : "")
        + $" WHERE h.status IN ('{InboxStatus.Failed}', '{InboxStatus.Rejected}') AND h.at >= @Since"
        + " AND (h.detail IS NULL OR h.detail <> @Resent) GROUP BY h.status;";

    internal const string LastReceivedSql = "SELECT MAX(last_received_at) FROM inbound_message WHERE sender_name = @SenderName;";
}

/// <summary>Messages received in one minute (UTC, its start) with one ACK code, status and configured sender.</summary>
public sealed record MinuteTraffic(DateTimeOffset Minute, string? AckCode, string Status, string? SenderName, long Count);

/// <summary>Messages that entered <c>failed</c> and <c>rejected</c> over a period.</summary>
public sealed record FinalEntries(long Failed, long Rejected);
