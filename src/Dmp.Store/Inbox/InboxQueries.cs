using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
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

        var sql = new StringBuilder("SELECT ").Append(InboundMessageRow.SummaryColumns).Append(" FROM inbound_message WHERE 1 = 1");
        var parameters = new DynamicParameters();
        if (filter.Sender is not null)
        {
            sql.Append(" AND sender = @Sender");
            parameters.Add("Sender", filter.Sender);
        }

        if (filter.ControlId is not null)
        {
            sql.Append(" AND control_id = @ControlId");
            parameters.Add("ControlId", filter.ControlId);
        }

        if (filter.Status is not null)
        {
            sql.Append(" AND status = @Status");
            parameters.Add("Status", filter.Status);
        }

        if (filter.Since is { } since)
        {
            sql.Append(" AND received_at >= @Since");
            parameters.Add("Since", StoreTime.Write(since));
        }

        if (cursor is not null)
        {
            sql.Append(" AND id < @Before");
            parameters.Add("Before", DecodeCursor(cursor));
        }

        // One row more than asked tells whether another page follows.
        sql.Append(" ORDER BY id DESC").Append(_connections.Limit("@Take")).Append(';');
        parameters.Add("Take", limit + 1);

        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = (await connection.QueryAsync<InboundMessageRow>(
                new CommandDefinition(sql.ToString(), parameters, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
            var more = rows.Count > limit;
            var items = rows.Take(limit).Select(r => r.ToSummary()).ToList();
            return new InboxPage(items, more ? EncodeCursor(items[^1].Id) : null);
        }
    }

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
