using Dmp.Store.Writing;
using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Audit;

/// <summary>
/// The audit trail: appends join the inbox writer's grouped transactions (concurrent appends share
/// one commit) and return once durable, so a response can wait for its audit event cheaply.
/// </summary>
public sealed class AuditLog(SqlDialect connections, GroupCommitWriter writer, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Appends the events, in order, and returns once they are committed.</summary>
    public async Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }

        var at = _time.GetUtcNow();
        await writer.RunInWriteTransactionAsync(
            (connection, transaction) => AuditChain.AppendAsync(connections, connection, transaction, records, at, CancellationToken.None),
            cancellationToken).ConfigureAwait(false);
    }

    public Task AppendAsync(AuditRecord record, CancellationToken cancellationToken) => AppendAsync([record], cancellationToken);

    /// <summary>Walks every chain (see <see cref="AuditChain.VerifyAsync"/>).</summary>
    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken) => VerifyChainAsync(null, cancellationToken);

    /// <summary>Walks one dossier's chain only: what a trail view needs, at the cost of that dossier's events, not every dossier's.</summary>
    public Task<AuditVerification> VerifyPatientAsync(long patientId, CancellationToken cancellationToken) =>
        VerifyChainAsync(AuditChain.ChainOf(patientId), cancellationToken);

    private async Task<AuditVerification> VerifyChainAsync(string? chain, CancellationToken cancellationToken)
    {
        var connection = await connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return await AuditChain.VerifyAsync(connection, chain, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A dossier's events, newest first, from <paramref name="beforeId"/> (exclusive) when paging.</summary>
    public async Task<IReadOnlyList<AuditEventRow>> ListAsync(long patientId, int limit, long? beforeId, CancellationToken cancellationToken)
    {
        var connection = await connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            return (await connection.QueryAsync<AuditEventRow>(new CommandDefinition(
                """
                SELECT id AS Id, chain AS Chain, seq AS Seq, at AS At, patient_id AS PatientId, agent_kind AS AgentKind, agent_id AS AgentId,
                       agent_role AS AgentRole, action AS Action, entity_type AS EntityType, entity_id AS EntityId, outcome AS Outcome,
                       purpose_of_use AS PurposeOfUse, reason AS Reason, detail AS Detail, prev_hash AS PrevHash, hash AS Hash
                FROM audit_event WHERE patient_id = @PatientId AND (@BeforeId IS NULL OR id < @BeforeId)
                ORDER BY id DESC
                """ + connections.Limit("@Limit") + ";",
                new { PatientId = patientId, BeforeId = beforeId, Limit = limit }, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        }
    }
}
