using Dmp.Store.Writing;
using System.Data.Common;
using Dapper;
using Dmp.Store.Audit;
using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// The patient's rights over their dossier (mask, delete, close, authorise, oppose emergency access)
/// and a professional's unhiding of a document. Each change and its audit event commit in one
/// transaction of the store's grouped writer, so a right is never exercised without its trace.
/// </summary>
public sealed class DossierRights
{
    private readonly GroupCommitWriter _writer;
    private readonly SqlDialect _dialect;
    private readonly TimeProvider _time;
    private readonly string _insertAuthorization;

    /// <summary>Rights written in <paramref name="dialect"/>'s SQL (the store's: <see cref="DmpStore.Connections"/>).</summary>
    public DossierRights(GroupCommitWriter writer, SqlDialect dialect, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(dialect);
        ArgumentNullException.ThrowIfNull(time);
        _writer = writer;
        _dialect = dialect;
        _time = time;
        _insertAuthorization = dialect.DossierStatements.InsertAuthorization;
    }

    /// <summary>Masks the document from professionals (MASQUE_PS), or unmasks it; false when it is gone (deleted or unknown).</summary>
    public Task<bool> SetMaskedAsync(long documentId, bool masked, AuditRecord audit, CancellationToken cancellationToken) =>
        ChangeAsync(
            $"UPDATE document SET masked = @Value, updated_at = @Now WHERE id = @Id AND status <> '{DocumentStatuses.Deleted}';",
            new { Id = documentId, Value = masked }, audit, cancellationToken);

    /// <summary>Shows a document hidden from the patient (INVISIBLE_PATIENT) after the announcement consultation.</summary>
    public Task<bool> UnhideAsync(long documentId, AuditRecord audit, CancellationToken cancellationToken) =>
        ChangeAsync(
            $"UPDATE document SET hidden_from_patient = @Value, updated_at = @Now WHERE id = @Id AND status <> '{DocumentStatuses.Deleted}';",
            new { Id = documentId, Value = false }, audit, cancellationToken);

    /// <summary>The patient deletes a document: its status becomes deleted (the row and the audit keep the history).</summary>
    public Task<bool> DeleteDocumentAsync(long documentId, AuditRecord audit, CancellationToken cancellationToken) =>
        ChangeAsync(
            $"UPDATE document SET status = '{DocumentStatuses.Deleted}', updated_at = @Now WHERE id = @Id AND status <> '{DocumentStatuses.Deleted}';",
            new { Id = documentId }, audit, cancellationToken);

    /// <summary>Closes (<paramref name="open"/> false) or reopens the dossier; false when the patient has none.</summary>
    public Task<bool> SetOpenAsync(long patientId, bool open, AuditRecord audit, CancellationToken cancellationToken) =>
        ChangeAsync(
            open
                ? "UPDATE dossier SET status = 'open', closed_at = NULL, updated_at = @Now WHERE patient_id = @Id;"
                : "UPDATE dossier SET status = 'closed', closed_at = CASE WHEN status = 'closed' THEN closed_at ELSE @Now END, updated_at = @Now WHERE patient_id = @Id;",
            new { Id = patientId }, audit, cancellationToken);

    /// <summary>Records the patient's opposition to emergency access, or lifts it.</summary>
    public Task<bool> SetEmergencyOppositionAsync(long patientId, bool opposes, AuditRecord audit, CancellationToken cancellationToken) =>
        ChangeAsync(
            "UPDATE dossier SET opposes_emergency = @Value, updated_at = @Now WHERE patient_id = @Id;",
            new { Id = patientId, Value = opposes }, audit, cancellationToken);

    /// <summary>Authorises a professional; with <paramref name="treating"/>, also names them the treating physician.</summary>
    public Task<bool> AuthorizeAsync(long patientId, string rpps, bool treating, AuditRecord audit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(rpps);
        return RunAsync(async (connection, transaction, now) =>
        {
            var found = await connection.ExecuteAsync(new CommandDefinition(
                treating
                    ? "UPDATE dossier SET treating_rpps = @Rpps, updated_at = @Now WHERE patient_id = @Id;"
                    : "UPDATE dossier SET updated_at = @Now WHERE patient_id = @Id;",
                new { Id = patientId, Rpps = rpps, Now = now }, transaction)).ConfigureAwait(false);
            if (found == 0)
                return false;
            await connection.ExecuteAsync(new CommandDefinition(
                _insertAuthorization,
                new { Id = patientId, Rpps = rpps, Now = now }, transaction)).ConfigureAwait(false);
            return true;
        }, audit, cancellationToken);
    }

    /// <summary>
    /// Revokes a professional: their authorisation goes, and the treating-physician role when they held it.
    /// With <paramref name="treatingOnly"/>, only the treating-physician role goes (the authorisation stays).
    /// </summary>
    public Task<bool> RevokeAsync(long patientId, string rpps, bool treatingOnly, AuditRecord audit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(rpps);
        return RunAsync(async (connection, transaction, now) =>
        {
            var found = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE dossier SET treating_rpps = CASE WHEN treating_rpps = @Rpps THEN NULL ELSE treating_rpps END, updated_at = @Now
                WHERE patient_id = @Id;
                """,
                new { Id = patientId, Rpps = rpps, Now = now }, transaction)).ConfigureAwait(false);
            if (found == 0)
                return false;
            if (!treatingOnly)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "DELETE FROM dossier_authorization WHERE patient_id = @Id AND rpps = @Rpps;",
                    new { Id = patientId, Rpps = rpps }, transaction)).ConfigureAwait(false);
            }

            return true;
        }, audit, cancellationToken);
    }

    private Task<bool> ChangeAsync(string sql, object parameters, AuditRecord audit, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction, now) =>
        {
            var arguments = new DynamicParameters(parameters);
            arguments.Add("Now", now);
            return await connection.ExecuteAsync(new CommandDefinition(sql, arguments, transaction)).ConfigureAwait(false) > 0;
        }, audit, cancellationToken);

    /// <summary>
    /// Runs the change and appends its audit event in one grouped write transaction; the event says
    /// <see cref="AuditOutcomes.NotFound"/> instead of its outcome when the change found nothing to change.
    /// </summary>
    private async Task<bool> RunAsync(
        Func<DbConnection, DbTransaction, string, Task<bool>> change, AuditRecord audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var changed = false;
        var at = _time.GetUtcNow();
        var now = StoreTime.Write(at);
        await _writer.RunInWriteTransactionAsync(async (connection, transaction) =>
        {
            // The writer may run the work again when its batch is retried: start from scratch each time.
            changed = await change(connection, transaction, now).ConfigureAwait(false);
            var record = changed ? audit : audit with { Outcome = AuditOutcomes.NotFound };
            await AuditChain.AppendAsync(_dialect, connection, transaction, [record], at, CancellationToken.None).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return changed;
    }
}
