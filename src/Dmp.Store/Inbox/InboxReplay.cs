using Dapper;
using Dmp.Store.Sql;
using Dmp.Store.Writing;

namespace Dmp.Store.Inbox;

/// <summary>Puts a processed message back in the queue, to be processed again with the current rules.</summary>
internal sealed class InboxReplay(SqlDialect connections, TimeProvider time)
{
    private readonly SqlDialect _connections = connections;

    /// <summary>
    /// Puts a failed, held, processed or ignored message back to <c>accepted</c> so it is processed
    /// again with the current rules; false when its status does not allow it or its bytes are gone.
    /// </summary>
    public async Task<bool> RequeueAsync(long id, CancellationToken cancellationToken)
    {
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var changed = await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE inbound_message SET status = @Accepted, error = NULL WHERE id = @Id AND "
                    + _connections.InList("status", "Replayable") + " AND (raw IS NOT NULL OR blob_key IS NOT NULL);",
                    new
                    {
                        InboxStatus.Accepted,
                        Id = id,
                        Replayable = InboxStatus.All.Where(InboxStatus.IsReplayable).ToArray(),
                    },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                if (changed == 0)
                {
                    return false;
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    GroupCommitWriter.InsertHistorySql,
                    new
                    {
                        MessageId = id,
                        At = StoreTime.Write(time.GetUtcNow()),
                        Status = InboxStatus.Accepted,
                        Detail = InboxHistoryDetail.ReplayRequested,
                    },
                    transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
        }
    }
}
