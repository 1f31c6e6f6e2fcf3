using System.Collections;
using System.Data;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace Dmp.Store.Sql;

/// <summary>
/// A SQLite connection that keeps each statement it runs compiled, keyed by its SQL text, for the
/// life of the connection. Microsoft.Data.Sqlite compiles a command's SQL again for every new
/// command object, and Dapper creates one per call: on the inbox writer's long-lived connection,
/// which runs the same two dozen statements for every frame and every applied message, compiling
/// was two thirds of SQLite's CPU (docs/BENCHMARKS.md). Commands created here are thin: at
/// execution they borrow the compiled command for their final text (Dapper may rewrite the text
/// while it expands list parameters), bind their parameters to it, and give it back when disposed.
/// </summary>
internal sealed class PreparedSqliteConnection : DbConnection
{
    /// <summary>Most statements kept compiled; texts beyond it (lists of many sizes) are compiled per use.</summary>
    internal const int Capacity = 256;

    private readonly Dictionary<string, Entry> _statements = new(StringComparer.Ordinal);

    public PreparedSqliteConnection(SqliteConnection inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>The connection the statements run on (transactions are begun on it).</summary>
    public SqliteConnection Inner { get; }

    /// <summary>Statements compiled and kept so far.</summary>
    internal int Cached => _statements.Count;

    /// <summary>Executions that reused a kept statement.</summary>
    internal long Reuses { get; private set; }

    [AllowNull]
    public override string ConnectionString
    {
        get => Inner.ConnectionString;
        set => Inner.ConnectionString = value;
    }

    public override string Database => Inner.Database;

    public override string DataSource => Inner.DataSource;

    public override string ServerVersion => Inner.ServerVersion;

    public override ConnectionState State => Inner.State;

    public override void ChangeDatabase(string databaseName) => Inner.ChangeDatabase(databaseName);

    public override void Open() => Inner.Open();

    public override Task OpenAsync(CancellationToken cancellationToken) => Inner.OpenAsync(cancellationToken);

    public override void Close()
    {
        DisposeStatements();
        Inner.Close();
    }

    protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel) => Inner.BeginTransaction(isolationLevel);

    protected override DbCommand CreateDbCommand() => new Command(this);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeStatements();
            Inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The kept statement for <paramref name="sql"/>, now marked in use, or null when the kept one is still in use
    /// (a reader open on it) or the cache is full: the caller then runs a one-off command.
    /// </summary>
    private Entry? Rent(string sql)
    {
        if (_statements.TryGetValue(sql, out var entry))
        {
            if (entry.InUse)
            {
                return null;
            }

            Reuses++;
        }
        else if (_statements.Count < Capacity)
        {
            var command = Inner.CreateCommand();
            command.CommandText = sql;
            entry = new Entry(command);
            _statements.Add(sql, entry);
        }
        else
        {
            return null;
        }

        entry.InUse = true;
        return entry;
    }

    private static void Return(Entry entry)
    {
        // Values are bound at each execution; drop the references (a frame's bytes) until then.
        entry.Command.Parameters.Clear();
        entry.Command.Transaction = null;
        entry.InUse = false;
    }

    private void DisposeStatements()
    {
        foreach (var entry in _statements.Values)
        {
            entry.Command.Dispose();
        }

        _statements.Clear();
    }

    private sealed class Entry(SqliteCommand command)
    {
        private Dictionary<string, string>? _named;

        public SqliteCommand Command { get; } = command;

        public bool InUse { get; set; }

        /// <summary>
        /// The statement's parameter as SQLite knows it ("@Sender") for a name Dapper gives without its prefix ("Sender").
        /// Microsoft.Data.Sqlite resolves a bare name by asking SQLite for it, then for each of ":", "@" and "$" before it
        /// (to refuse an ambiguous one): four native look-ups and four UTF-8 copies per parameter and execution, a few per
        /// cent of the gateway's CPU on the inbox's two-dozen-parameter insert (docs/BENCHMARKS.md). Named once from the SQL
        /// text; a name not written with "@" in it is left to Microsoft.Data.Sqlite's own search.
        /// </summary>
        public bool TryPrefixed(string bare, [NotNullWhen(true)] out string? prefixed)
        {
            _named ??= AtParameters(Command.CommandText);
            return _named.TryGetValue(bare, out prefixed);
        }

        private static Dictionary<string, string> AtParameters(string sql)
        {
            var named = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = sql.IndexOf('@', StringComparison.Ordinal); i >= 0 && i < sql.Length; i = sql.IndexOf('@', i + 1))
            {
                var end = i + 1;
                while (end < sql.Length && (char.IsAsciiLetterOrDigit(sql[end]) || sql[end] == '_'))
                {
                    end++;
                }

                if (end > i + 1)
                {
                    named.TryAdd(sql[(i + 1)..end], sql[i..end]);
                }
            }

            return named;
        }
    }

    /// <summary>A command that runs on its connection's compiled statement for its text.</summary>
    private sealed class Command(PreparedSqliteConnection owner) : DbCommand
    {
        private readonly ParameterList _parameters = new();
        private readonly List<(SqliteParameter Parameter, string Bare)> _renamed = [];
        private SqliteCommand? _rented;
        private Entry? _kept;

        [AllowNull]
        public override string CommandText { get; set; } = "";

        public override int CommandTimeout { get; set; } = 30;

        public override CommandType CommandType { get; set; } = CommandType.Text;

        public override bool DesignTimeVisible { get; set; }

        public override UpdateRowSource UpdatedRowSource { get; set; }

        protected override DbConnection? DbConnection
        {
            get => owner;
            set
            {
                if (value is not null && !ReferenceEquals(value, owner))
                {
                    throw new NotSupportedException("A command of a prepared SQLite connection cannot move to another connection.");
                }
            }
        }

        protected override DbParameterCollection DbParameterCollection => _parameters;

        protected override DbTransaction? DbTransaction { get; set; }

        public override void Cancel() => _rented?.Cancel();

        public override void Prepare()
        {
            // Statements are compiled on their first execution and kept.
        }

        protected override DbParameter CreateDbParameter() => new SqliteParameter();

        public override int ExecuteNonQuery() => Bind().ExecuteNonQuery();

        public override object? ExecuteScalar() => Bind().ExecuteScalar();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => Bind().ExecuteReader(behavior);

        public override Task<int> ExecuteNonQueryAsync(CancellationToken cancellationToken) =>
            Bind().ExecuteNonQueryAsync(cancellationToken);

        public override Task<object?> ExecuteScalarAsync(CancellationToken cancellationToken) =>
            Bind().ExecuteScalarAsync(cancellationToken);

        protected override async Task<DbDataReader> ExecuteDbDataReaderAsync(CommandBehavior behavior, CancellationToken cancellationToken) =>
            await Bind().ExecuteReaderAsync(behavior, cancellationToken).ConfigureAwait(false);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Release();
            }

            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private SqliteCommand Bind()
        {
            if (CommandType != CommandType.Text)
            {
                throw new NotSupportedException("SQLite runs text commands only.");
            }

            Release();
            _kept = owner.Rent(CommandText);
            var command = _kept?.Command ?? new SqliteCommand(CommandText, owner.Inner);
            _rented = command;
            command.Transaction = (SqliteTransaction?)DbTransaction;
            command.CommandTimeout = CommandTimeout;
            var parameters = command.Parameters;
            parameters.Clear();
            foreach (var parameter in _parameters.Items)
            {
                // Bound under the name the statement uses, and given its own name back once the statement is released.
                var name = parameter.ParameterName;
                if (_kept is { } entry && name.Length > 0 && name[0] is not (':' or '@' or '$') && entry.TryPrefixed(name, out var prefixed))
                {
                    parameter.ParameterName = prefixed;
                    _renamed.Add((parameter, name));
                }

                parameters.Add(parameter);
            }

            return command;
        }

        private void Release()
        {
            foreach (var (parameter, bare) in _renamed)
            {
                parameter.ParameterName = bare;
            }

            _renamed.Clear();
            if (_rented is not { } command)
            {
                return;
            }

            _rented = null;
            if (_kept is { } entry)
            {
                _kept = null;
                Return(entry);
            }
            else
            {
                command.Dispose();
            }
        }
    }

    /// <summary>The parameters a command collects before it runs (Dapper adds them one by one).</summary>
    private sealed class ParameterList : DbParameterCollection
    {
        public List<SqliteParameter> Items { get; } = [];

        public override int Count => Items.Count;

        public override object SyncRoot => ((ICollection)Items).SyncRoot;

        public override int Add(object value)
        {
            Items.Add(Cast(value));
            return Items.Count - 1;
        }

        public override void AddRange(Array values)
        {
            foreach (var value in values)
            {
                Add(value!);
            }
        }

        public override void Clear() => Items.Clear();

        public override bool Contains(object value) => value is SqliteParameter p && Items.Contains(p);

        public override bool Contains(string value) => IndexOf(value) >= 0;

        public override void CopyTo(Array array, int index) => ((ICollection)Items).CopyTo(array, index);

        public override IEnumerator GetEnumerator() => Items.GetEnumerator();

        public override int IndexOf(object value) => value is SqliteParameter p ? Items.IndexOf(p) : -1;

        public override int IndexOf(string parameterName) =>
            Items.FindIndex(p => string.Equals(p.ParameterName, parameterName, StringComparison.Ordinal));

        public override void Insert(int index, object value) => Items.Insert(index, Cast(value));

        public override void Remove(object value) => Items.Remove(Cast(value));

        public override void RemoveAt(int index) => Items.RemoveAt(index);

        public override void RemoveAt(string parameterName) => RemoveAt(IndexOfExisting(parameterName));

        protected override DbParameter GetParameter(int index) => Items[index];

        protected override DbParameter GetParameter(string parameterName) => Items[IndexOfExisting(parameterName)];

        protected override void SetParameter(int index, DbParameter value) => Items[index] = Cast(value);

        protected override void SetParameter(string parameterName, DbParameter value) => Items[IndexOfExisting(parameterName)] = Cast(value);

        private int IndexOfExisting(string parameterName)
        {
            var index = IndexOf(parameterName);
            return index >= 0 ? index : throw new IndexOutOfRangeException($"No parameter named '{parameterName}'.");
        }

        private static SqliteParameter Cast(object value) =>
            value as SqliteParameter ?? throw new InvalidCastException("Only SqliteParameter objects can be added.");
    }
}
