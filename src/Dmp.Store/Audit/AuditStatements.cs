using Dmp.Store.Sql;

namespace Dmp.Store.Audit;

/// <summary>The audit chain's statements whose syntax differs between dialects, built once per dialect.</summary>
internal sealed class AuditStatements
{
    public AuditStatements(SqlDialect dialect)
    {
        // A no-op update: it takes the head row's write lock until the commit, so appends to one chain serialise.
        LockHead = dialect.UpdateReturning("audit_head", "seq = seq", "chain = @Chain", "seq, hash");
        CreateHead = dialect.InsertIgnoringDuplicate("audit_head", "chain, seq, hash", "@Chain, 0, @Hash", "chain");
        InsertEvent = InsertEventSql((table, columns, values) => dialect.InsertReturning(table, columns, values, "id"));
    }

    /// <summary>Locks a chain's head and returns its <c>seq, hash</c> (no row for a new chain).</summary>
    public string LockHead { get; }

    /// <summary>Creates a chain's head at genesis unless another writer just did.</summary>
    public string CreateHead { get; }

    /// <summary>Inserts one event and returns its id.</summary>
    public string InsertEvent { get; }

    private static string InsertEventSql(Func<string, string, string, string> insertReturningId) => insertReturningId(
        "audit_event",
        """
        chain, seq, at, patient_id, agent_kind, agent_id, agent_role, action, entity_type, entity_id,
        outcome, purpose_of_use, reason, detail, prev_hash, hash
        """,
        """
        @Chain, @Seq, @At, @PatientId, @AgentKind, @AgentId, @AgentRole, @Action, @EntityType, @EntityId,
        @Outcome, @PurposeOfUse, @Reason, @Detail, @PrevHash, @Hash
        """);
}
