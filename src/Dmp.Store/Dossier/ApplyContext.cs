using System.Data.Common;
using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// What every step of one message's apply shares: the caller's write transaction, the message it applies, the time
/// of the commit, and the notes that become the message's history detail.
/// </summary>
internal sealed class ApplyContext
{
    public ApplyContext(
        DbConnection connection, DbTransaction transaction, SqlDialect dialect, long messageId, string sender,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        Connection = connection;
        Transaction = transaction;
        Dialect = dialect;
        MessageId = messageId;
        Sender = sender;
        Now = now;
        NowText = StoreTime.Write(now);
        CancellationToken = cancellationToken;
    }

    public DbConnection Connection { get; }
    public DbTransaction Transaction { get; }
    public SqlDialect Dialect { get; }

    /// <summary>The dossier's statements in <see cref="Dialect"/>, built once per dialect.</summary>
    public DossierStatements Sql => Dialect.DossierStatements;
    public long MessageId { get; }
    public string Sender { get; }
    public DateTimeOffset Now { get; }

    /// <summary><see cref="Now"/> as the dossier tables store times (<see cref="StoreTime"/>).</summary>
    public string NowText { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>What the apply did worth saying in the message's history (repeats dropped when joined).</summary>
    public List<string> Notes { get; } = [];

    public CommandDefinition Command(string sql, object? args) => new(sql, args, Transaction, cancellationToken: CancellationToken);

    public Task<int> Execute(string sql, object args) => Connection.ExecuteAsync(Command(sql, args));
}
