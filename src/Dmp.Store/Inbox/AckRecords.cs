using System.Data.Common;
using Dapper;
using Dmp.Store.Writing;

namespace Dmp.Store.Inbox;

/// <summary>The ACKs sent once a message was processed (ACK mode Processed), kept so a resend gets the same bytes.</summary>
internal sealed class AckRecords(GroupCommitWriter writer)
{
    /// <summary>
    /// Records the ACK sent for a message after its processing, so a resend is answered with these very bytes.
    /// Only a message that has no ACK yet takes one; false otherwise.
    /// </summary>
    public async Task<bool> RecordAsync(long id, byte[] ack, string ackCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ack);
        var changed = 0;
        async Task Write(DbConnection connection, DbTransaction transaction) =>
            changed = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE inbound_message SET ack = @Ack, ack_code = @AckCode WHERE id = @Id AND ack IS NULL;",
                new { Id = id, Ack = ack, AckCode = ackCode }, transaction, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
        await writer.RunInWriteTransactionAsync(Write, cancellationToken).ConfigureAwait(false);
        return changed == 1;
    }
}
