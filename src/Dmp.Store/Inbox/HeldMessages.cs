using System.Data.Common;
using System.Globalization;
using Dapper;
using Dmp.Model.Apply;
using Dmp.Store.Sql;
using Dmp.Store.Writing;

namespace Dmp.Store.Inbox;

/// <summary>
/// Messages waiting outside the dossier, in the caller's write transaction: a draft under its documents' keys
/// (<c>held_document</c>) until its validated version arrives, a message about an unqualified patient under the
/// patient's identifiers (<c>held_identity</c>) until an ADT qualifies the identity. Written, looked up and released here.
/// </summary>
internal sealed class HeldMessages(DbConnection connection, DbTransaction transaction, SqlDialect dialect, CancellationToken cancellationToken)
{
    /// <summary>Forgets what a message was held under (a replayed message holds only what its new outcome says).</summary>
    public async Task ForgetAsync(long messageId, bool documents, bool identities)
    {
        // Most messages were never held: the caller's flags spare them the deletes.
        if (documents)
            await Execute("DELETE FROM held_document WHERE message_id = @Id;", new { Id = messageId }).ConfigureAwait(false);
        if (identities)
            await Execute("DELETE FROM held_identity WHERE message_id = @Id;", new { Id = messageId }).ConfigureAwait(false);
    }

    /// <summary>Holds a message under its drafts' keys and its unqualified patient's identifiers (distinct, one row each).</summary>
    public async Task HoldAsync(long messageId, IReadOnlyList<HeldKey> documentKeys, IReadOnlyList<HeldKey> identityKeys)
    {
        await InsertAsync("INSERT INTO held_document (message_id, document_key) VALUES (@Id, @Key);", messageId, documentKeys).ConfigureAwait(false);
        await InsertAsync("INSERT INTO held_identity (message_id, identity_key) VALUES (@Id, @Key);", messageId, identityKeys).ConfigureAwait(false);
    }

    /// <summary>
    /// Drafts held under one of <paramref name="keys"/> in other messages will never enter the dossier:
    /// the validated version in message <paramref name="validatedBy"/> does. They become <c>ignored</c>.
    /// </summary>
    public async Task SupersedeDraftsAsync(long validatedBy, IReadOnlyList<HeldKey> keys, object now)
    {
        var drafts = (await connection.QueryAsync<long>(Command(
            "SELECT DISTINCT h.message_id FROM held_document h JOIN inbound_message m ON m.id = h.message_id"
            + " WHERE " + dialect.InList("h.document_key", "Keys") + " AND m.status = @Held AND h.message_id <> @Id"
            + " ORDER BY h.message_id;",
            new { Keys = keys.Select(k => k.Text).Distinct(StringComparer.Ordinal).ToArray(), InboxStatus.Held, Id = validatedBy })).ConfigureAwait(false)).AsList();
        foreach (var draft in drafts)
        {
            var changed = await Execute(
                "UPDATE inbound_message SET status = @Ignored, error = NULL, processed_at = @Now WHERE id = @Id AND status = @Held;",
                new { InboxStatus.Ignored, InboxStatus.Held, Now = now, Id = draft }).ConfigureAwait(false);
            if (changed == 0)
                continue;
            await Execute(GroupCommitWriter.InsertHistorySql,
                new { MessageId = draft, At = now, Status = InboxStatus.Ignored, Detail = InboxHistoryDetail.SupersededBy(validatedBy) }).ConfigureAwait(false);
            await Execute("DELETE FROM held_document WHERE message_id = @Id;", new { Id = draft }).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Messages held for one of the (now qualified) patient's identities go back to <c>accepted</c>, in arrival order;
    /// returns how many. <paramref name="qualifiedBy"/> is the message that qualified the identity.
    /// </summary>
    public async Task<int> ReleaseIdentityAsync(long patientId, long qualifiedBy, DateTimeOffset now)
    {
        // One statement for all of the patient's identifiers: this runs for every message about a qualified patient.
        // The keys are HeldKey.Identity's form, system|value, built here from the stored identifiers.
        var released = new SortedSet<long>(await connection.QueryAsync<long>(Command(
            ReleaseIdentitySql(dialect), new { Id = patientId, InboxStatus.Held, Self = qualifiedBy })).ConfigureAwait(false));

        var at = StoreTime.Write(now);
        foreach (var id in released)
        {
            var changed = await Execute(
                "UPDATE inbound_message SET status = @Accepted, error = NULL WHERE id = @Id AND status = @Held;",
                new { InboxStatus.Accepted, InboxStatus.Held, Id = id }).ConfigureAwait(false);
            if (changed == 0)
                continue;
            await Execute(GroupCommitWriter.InsertHistorySql, new
            {
                MessageId = id, At = at, Status = InboxStatus.Accepted,
                Detail = string.Create(CultureInfo.InvariantCulture, $"released: the patient's identity was qualified by message {qualifiedBy}"),
            }).ConfigureAwait(false);
            await Execute("DELETE FROM held_identity WHERE message_id = @Id;", new { Id = id }).ConfigureAwait(false);
        }

        return released.Count;
    }

    /// <summary>The messages held for one of a patient's identifiers (<c>system|value</c> built in the dialect's concatenation).</summary>
    internal static string ReleaseIdentitySql(SqlDialect dialect) =>
        $"""
        SELECT h.message_id FROM held_identity h JOIN inbound_message m ON m.id = h.message_id
        WHERE h.identity_key IN (SELECT {dialect.Concat("system", "'|'", "value")} FROM patient_identifier WHERE patient_id = @Id)
          AND m.status = @Held AND h.message_id <> @Self;
        """;

    private async Task InsertAsync(string insertSql, long messageId, IReadOnlyList<HeldKey> keys)
    {
        if (keys.Count == 0)
            return;
        await Execute(insertSql, keys.Select(k => k.Text).Distinct(StringComparer.Ordinal).Select(key => new { Id = messageId, Key = key }).ToArray()).ConfigureAwait(false);
    }

    private CommandDefinition Command(string sql, object args) => new(sql, args, transaction, cancellationToken: cancellationToken);

    private Task<int> Execute(string sql, object args) => connection.ExecuteAsync(Command(sql, args));
}
