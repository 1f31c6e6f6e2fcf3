using System.Buffers.Binary;
using System.Buffers.Text;
using Dapper;
using Dmp.Store.Blobs;
using Dmp.Store.Sql;

namespace Dmp.Store.Inbox;

/// <summary>The read side of the inbox, for the operator API.</summary>
public sealed class InboxQueries
{
    /// <summary>Largest page <see cref="ListAsync"/> returns.</summary>
    public const int MaxLimit = 1000;

    private readonly SqlDialect _connections;
    private readonly IBlobStore _blobs;

    public InboxQueries(SqlDialect connections, IBlobStore blobs)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(blobs);
        _connections = connections;
        _blobs = blobs;
    }

    /// <summary>
    /// Messages matching the filter, newest first, at most <paramref name="limit"/> (clamped to
    /// 1…<see cref="MaxLimit"/>), continuing after <paramref name="cursor"/> (from a previous page).
    /// </summary>
    /// <exception cref="FormatException">The cursor was not made by this method.</exception>
    public async Task<InboxPage> ListAsync(InboxFilter filter, int limit, string? cursor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        limit = Math.Clamp(limit, 1, MaxLimit);

        var parameters = new DynamicParameters();
        var where = InboxSearchSql.Where(filter, parameters);
        if (cursor is not null)
        {
            parameters.Add("Before", DecodeCursor(cursor));
        }

        var sql = InboxSearchSql.List(_connections, where, cursor is not null);
        parameters.Add("Take", limit + 1);

        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = (await connection.QueryAsync<InboundMessageRow>(
                new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
            var more = rows.Count > limit;
            var items = rows.Take(limit).Select(r => r.ToSummary()).ToList();
            return new InboxPage(items, more ? EncodeCursor(items[^1].Id) : null);
        }
    }

    /// <summary>How many messages match the filter, per status (every status present, 0 when none).</summary>
    public async Task<InboxStats> StatsAsync(InboxFilter filter, CancellationToken cancellationToken)
    {
        var parameters = new DynamicParameters();
        var sql = InboxSearchSql.Stats(InboxSearchSql.Where(filter, parameters));
        var counts = InboxStatus.All.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            foreach (var (status, count) in await connection.QueryAsync<(string Status, long Count)>(
                new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)).ConfigureAwait(false))
                counts[status] = count;
        }

        return new InboxStats(counts);
    }

    /// <summary>
    /// How many messages matching the filter a replay would take: those in a replayable status
    /// (<see cref="InboxStatus.IsReplayable"/>) whose raw bytes are still kept.
    /// </summary>
    public async Task<long> CountReplayableAsync(InboxFilter filter, CancellationToken cancellationToken)
    {
        var parameters = ReplayParameters(filter, out var where);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                InboxSearchSql.ReplayCount(_connections, where), parameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>The ids of the messages <see cref="CountReplayableAsync"/> counts, in arrival order, at most <paramref name="max"/>.</summary>
    public async Task<IReadOnlyList<long>> ReplayableIdsAsync(InboxFilter filter, int max, CancellationToken cancellationToken)
    {
        var parameters = ReplayParameters(filter, out var where);
        parameters.Add("Take", max);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return (await connection.QueryAsync<long>(new CommandDefinition(
                InboxSearchSql.ReplayIds(_connections, where), parameters, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        }
    }

    private static DynamicParameters ReplayParameters(InboxFilter filter, out string where)
    {
        var parameters = new DynamicParameters();
        where = InboxSearchSql.Where(filter, parameters);
        parameters.Add("Replayable", InboxStatus.All.Where(InboxStatus.IsReplayable).ToArray());
        return parameters;
    }

    /// <summary>What a message fed: the patients (its documents' and entries' owners now, and for a processed message the patients its
    /// identifiers name now), their identifiers, the documents and entries, in id order.</summary>
    public async Task<MessageProducts> ProducedAsync(long id, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var documents = (await connection.QueryAsync<(long Id, string UniqueId, long PatientId)>(new CommandDefinition(
                """
                SELECT d.id, d.unique_id, d.patient_id FROM document_source s JOIN document d ON d.id = s.document_id
                WHERE s.inbound_message_id = @Id ORDER BY d.id;
                """, new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
            var entries = (await connection.QueryAsync<(long Id, string Kind, string? PublicId, long PatientId)>(new CommandDefinition(
                """
                SELECT e.id, e.kind, e.public_id, e.patient_id FROM entry_source s JOIN entry e ON e.id = s.entry_id
                WHERE s.inbound_message_id = @Id ORDER BY e.id;
                """, new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
            // A processed message also fed the patients it named (an ADT's demographics): those its PID-3 identifiers
            // designate now, merges followed (a merge moves identifiers to the survivor).
            var identifiers = (await connection.QueryAsync<ProducedIdentifier>(new CommandDefinition(
                """
                SELECT i.patient_id AS PatientId, i.kind AS Kind, i.system AS System, i.value AS Value FROM patient_identifier i
                WHERE i.patient_id IN (SELECT d.patient_id FROM document_source s JOIN document d ON d.id = s.document_id WHERE s.inbound_message_id = @Id
                    UNION SELECT e.patient_id FROM entry_source s JOIN entry e ON e.id = s.entry_id WHERE s.inbound_message_id = @Id
                    UNION SELECT k.patient_id FROM message_patient mp JOIN patient_identifier k ON k.value = mp.value AND k.system = mp.system
                        JOIN inbound_message m ON m.id = mp.message_id WHERE mp.message_id = @Id AND m.status = @Processed)
                ORDER BY i.patient_id, i.kind, i.system, i.value;
                """, new { Id = id, Processed = InboxStatus.Processed }, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
            var patients = documents.Select(d => d.PatientId).Concat(entries.Select(e => e.PatientId)).Concat(identifiers.Select(i => i.PatientId))
                .Distinct().Order().ToList();
            return new MessageProducts(
                patients,
                documents.Select(d => new ProducedDocument(d.Id, d.UniqueId)).ToList(),
                entries.Where(e => e.PublicId is not null).Select(e => new ProducedEntry(e.Kind, e.PublicId!)).ToList())
            { Identifiers = identifiers };
        }
    }

    /// <summary>
    /// Each sender's traffic since <paramref name="since"/>: messages per status, grouped by configured sender
    /// (<c>sender_name</c>) or, for messages matched to none, by channel and sender; with each one's last message.
    /// Configured senders in <paramref name="configured"/> that sent nothing since are listed too, with their last message ever.
    /// </summary>
    public async Task<IReadOnlyList<SenderTraffic>> SendersAsync(DateTimeOffset since, IEnumerable<string> configured, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configured);
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        List<(string? Name, string Channel, string Sender, string Status, long Count, string Last)> rows;
        await using (connection.ConfigureAwait(false))
        {
            rows = (await connection.QueryAsync<(string? Name, string Channel, string Sender, string Status, long Count, string Last)>(new CommandDefinition(
                SendersSql, new { Since = StoreTime.Write(since) }, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        }

        var result = new List<SenderTraffic>();
        foreach (var group in rows.GroupBy(r => r.Name is null ? (r.Name, r.Channel, r.Sender) : (r.Name, (string?)null, (string?)null)))
        {
            var counts = InboxStatus.All.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
            foreach (var r in group)
                counts[r.Status] += r.Count;
            result.Add(new SenderTraffic(group.Key.Name, group.Key.Item2, group.Key.Item3, group.Max(r => StoreTime.Read(r.Last)), counts));
        }

        var silent = configured.Distinct(StringComparer.Ordinal).Where(n => result.All(r => r.Name != n)).ToList();
        if (silent.Count > 0)
        {
            var last = await new InboxFigures(_connections).LastReceivedAsync(silent, cancellationToken).ConfigureAwait(false);
            foreach (var name in silent)
                result.Add(new SenderTraffic(name, null, null, last.TryGetValue(name, out var at) ? at : null,
                    InboxStatus.All.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal)));
        }

        return result.OrderBy(r => r.Name ?? "\uffff", StringComparer.Ordinal).ThenBy(r => r.Channel, StringComparer.Ordinal).ThenBy(r => r.Sender, StringComparer.Ordinal).ToList();
    }

    internal const string SendersSql =
        """
        SELECT sender_name, channel, sender, status, COUNT(*), MAX(last_received_at) FROM inbound_message
        WHERE received_at >= @Since GROUP BY sender_name, channel, sender, status;
        """;

    /// <summary>One message with its processing history, or null.</summary>
    public async Task<InboundMessageDetail?> GetAsync(long id, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var row = await connection.QuerySingleOrDefaultAsync<InboundMessageRow>(new CommandDefinition(
                $"SELECT {InboundMessageRow.SummaryColumns} FROM inbound_message WHERE id = @Id;",
                new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (row is null)
            {
                return null;
            }

            var history = await connection.QueryAsync<HistoryRow>(new CommandDefinition(
                "SELECT at AS At, status AS Status, detail AS Detail FROM inbound_message_history WHERE message_id = @Id ORDER BY id;",
                new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return new InboundMessageDetail(
                row.ToSummary(),
                history.Select(h => new HistoryEntry(StoreTime.Read(h.At), h.Status, h.Detail)).ToList());
        }
    }

    /// <summary>
    /// The traces of the inbound messages that brought a document (one per source: MLLP and a drop folder are two),
    /// oldest first, those with a stored trace id only: an HTTP read of the document links to them.
    /// </summary>
    public async Task<IReadOnlyList<MessageTraceIds>> TracesOfDocumentAsync(long documentId, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = await connection.QueryAsync<MessageTraceIds>(new CommandDefinition(
                """
                SELECT m.id AS MessageId, m.trace_id AS TraceId, m.trace_parent AS TraceParent
                FROM document_source s JOIN inbound_message m ON m.id = s.inbound_message_id
                WHERE s.document_id = @Id AND m.trace_id IS NOT NULL
                ORDER BY m.id;
                """,
                new { Id = documentId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return rows.AsList();
        }
    }

    /// <summary>The stored bytes of a message (inline or from the blob store); null when unknown or purged.</summary>
    public async Task<byte[]?> GetRawAsync(long id, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var stored = await connection.QuerySingleOrDefaultAsync<RawRow>(new CommandDefinition(
                "SELECT raw AS Raw, blob_key AS BlobKey FROM inbound_message WHERE id = @Id;",
                new { Id = id }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return await ReadRawAsync(_blobs, stored, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static async Task<byte[]?> ReadRawAsync(IBlobStore blobs, RawRow? stored, CancellationToken cancellationToken) =>
        stored switch
        {
            null => null,
            { Raw: { } raw } => raw,
            { BlobKey: { } key } => await blobs.GetAsync(key, cancellationToken).ConfigureAwait(false),
            _ => null,
        };

    // Opaque to callers; a version byte leaves room to change what it encodes.
    internal static string EncodeCursor(long lastId)
    {
        Span<byte> bytes = stackalloc byte[9];
        bytes[0] = 1;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], lastId);
        return Base64Url.EncodeToString(bytes);
    }

    internal static long DecodeCursor(string cursor)
    {
        try
        {
            var bytes = Base64Url.DecodeFromChars(cursor);
            if (bytes is [1, ..] && bytes.Length == 9)
            {
                return BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(1));
            }
        }
        catch (FormatException)
        {
        }

        throw new FormatException("The paging cursor is not valid: use the one returned with the previous page.");
    }

    internal sealed class RawRow
    {
        public byte[]? Raw { get; set; }
        public string? BlobKey { get; set; }
    }

    private sealed class HistoryRow
    {
        public string At { get; set; } = "";
        public string Status { get; set; } = "";
        public string? Detail { get; set; }
    }
}
