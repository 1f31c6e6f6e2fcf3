using Dapper;
using Dmp.Model;
using Dmp.Store.Sql;
using Microsoft.Data.Sqlite;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace Dmp.Store.Tests.SqlServer;

/// <summary>
/// The SQL Server dialect checked without a server, by Microsoft's own T-SQL parser (ScriptDom, SQL Server 2022
/// syntax): every migration and every statement the store can send parse with zero errors, and every table and column
/// the SQLite migrations create exists in the T-SQL schema with a compatible type. Syntax and schema only: nothing here
/// runs a statement (the provider suites do, with DMP_TEST_SQLSERVER).
/// </summary>
public sealed class SqlServerSyntaxTests
{
    [Fact]
    public void Every_migration_parses_as_TSql_with_no_error()
    {
        var migrations = TSqlStatements.Migrations();

        // The same numbering as PostgreSQL's, 0009 apart (text instants from 0001), the trace id of 0012, the figures' indexes of 0013 and the search index of 0014.
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14], MigrationRunner.LoadMigrations("SqlServer").Select(m => m.Version));
        var failures = migrations.SelectMany(m => Errors(m.Origin, m.Sql)).ToList();
        // Each GO batch the runner sends on its own parses too.
        failures.AddRange(migrations.SelectMany(m => TSqlStatements.Dialect.Batches(m.Sql).SelectMany((b, i) => Errors($"{m.Origin} batch {i + 1}", b))));
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task Every_statement_the_store_can_send_parses_as_TSql_with_no_error()
    {
        var statements = await TSqlStatements.AllAsync();

        var failures = statements.SelectMany(s => Errors(s.Origin, s.Sql)).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {statements.Count} statements do not parse:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");

        // The scan really found the store's statements: the dialect's own forms and the repositories' inline SQL.
        Assert.True(statements.Count >= 100, $"only {statements.Count} statements found");
        Assert.Contains(statements, s => s.Sql.StartsWith("MERGE INTO inbound_message WITH (HOLDLOCK)", StringComparison.Ordinal) && s.Sql.Contains("OUTPUT INSERTED.id", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Sql.Contains("OUTPUT INSERTED.seq, INSERTED.hash", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Sql.Contains("WITH (UPDLOCK, ROWLOCK, READPAST)", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Sql.Contains("OFFSET 0 ROWS FETCH NEXT @Limit ROWS ONLY", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Sql.Contains("sp_getapplock", StringComparison.Ordinal) && s.Sql.Contains("'Session'", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Origin.StartsWith("Dossier/PatientIdentities.cs:", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Origin.StartsWith("Inbox/ProcessingOutcomes.cs:", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Origin.StartsWith("DmpStore.", StringComparison.Ordinal) && s.Origin.Contains("_pendingOfLeasedSql", StringComparison.Ordinal));
        Assert.Contains(statements, s => s.Sql.StartsWith("WITH chain", StringComparison.Ordinal));
        // What only SQLite or PostgreSQL says never reaches SQL Server.
        Assert.DoesNotContain(statements, s => s.Sql.Contains(" LIMIT ", StringComparison.Ordinal) || s.Sql.Contains("RETURNING", StringComparison.Ordinal)
                                               || s.Sql.Contains("ON CONFLICT", StringComparison.Ordinal) || s.Sql.Contains("||", StringComparison.Ordinal)
                                               || s.Sql.Contains("WITH RECURSIVE", StringComparison.Ordinal));
    }

    [Fact]
    public void The_parser_and_the_scan_catch_what_SQL_Server_refuses()
    {
        // The check would fail: each of these is valid in SQLite or PostgreSQL and a syntax error in T-SQL.
        Assert.NotEmpty(TSqlStatements.Parse("SELECT id FROM t ORDER BY id LIMIT 1;", out _));
        Assert.NotEmpty(TSqlStatements.Parse("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING RETURNING id;", out _));
        Assert.NotEmpty(TSqlStatements.Parse("SELECT CASE WHEN opposes_feeding THEN 1 ELSE 0 END FROM t;", out _));
        Assert.NotEmpty(TSqlStatements.Parse("WITH RECURSIVE c (id) AS (SELECT 1) SELECT id FROM c;", out _));
        Assert.Equal("SELECT 1 WHERE a IN (@Ids1, @Ids2) AND b IN (@Keys1, @Keys2);", TSqlStatements.ExpandLists("SELECT 1 WHERE a IN @Ids AND b IN @Keys;"));
    }

    [Fact]
    public async Task Every_table_and_column_of_the_SQLite_schema_exists_in_the_TSql_schema_with_a_compatible_type()
    {
        var tsql = TSqlSchema.Read(TSqlStatements.Migrations().Select(m => m.Sql).Append(TSqlStatements.Dialect.CreateSchemaVersionTableSql));
        using var folder = new TempFolder();
        var sqlite = new SqliteDialect("Data Source=" + Path.Combine(folder.Path, "schema.db"));
        await new MigrationRunner(sqlite).ApplyAsync(CancellationToken.None);

        var problems = new List<string>();
        var checkedColumns = 0;
        await using (var connection = await sqlite.OpenAsync(CancellationToken.None))
        {
            var tables = (await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name;")).AsList();
            Assert.Contains("inbound_message", tables);
            Assert.Contains("audit_event", tables);
            foreach (var table in tables)
            {
                if (!tsql.Tables.TryGetValue(table, out var columns))
                {
                    problems.Add($"table {table} is not in the T-SQL schema");
                    continue;
                }

                foreach (var column in await connection.QueryAsync<SqliteColumn>($"SELECT name AS Name, type AS Type, \"notnull\" AS IsNotNull, pk AS Pk FROM pragma_table_info('{table}');"))
                {
                    checkedColumns++;
                    if (!columns.TryGetValue(column.Name, out var tcol))
                    {
                        problems.Add($"{table}.{column.Name} ({column.Type}) is not in the T-SQL schema");
                        continue;
                    }

                    if (!TSqlSchema.Compatible(column.Type, table, column.Name, tcol))
                        problems.Add($"{table}.{column.Name}: SQLite {column.Type}, T-SQL {tcol.Type}");
                    if ((column.IsNotNull || column.Pk > 0) && tcol.Nullable)
                        problems.Add($"{table}.{column.Name}: NOT NULL in SQLite, NULL allowed in T-SQL");
                }
            }
        }

        SqliteConnection.ClearAllPools();
        Assert.True(checkedColumns > 150, $"only {checkedColumns} columns compared");
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_Quartz_tables_have_every_column_of_the_PostgreSQL_job_store()
    {
        var tsql = TSqlSchema.Read(TSqlStatements.Migrations().Select(m => m.Sql));
        var postgres = File.ReadAllText(Path.Combine(TSqlStatements.SourceRoot, "src", "Dmp.Store", "Migrations", "Postgres", "0005_quartz.sql"));

        var expected = TSqlSchema.PostgresColumns(postgres);
        Assert.True(expected.Count >= 15, "the PostgreSQL Quartz tables were not read");
        var problems = new List<string>();
        foreach (var (table, columns) in expected)
        {
            if (!tsql.Tables.TryGetValue(table, out var tcolumns))
            {
                problems.Add($"table {table} is missing");
                continue;
            }

            problems.AddRange(columns.Where(c => !tcolumns.ContainsKey(c)).Select(c => $"{table}.{c} is missing"));
            problems.AddRange(tcolumns.Keys.Where(c => !columns.Contains(c)).Select(c => $"{table}.{c} is not in the PostgreSQL job store"));
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Each_unique_key_the_dialect_merges_on_is_a_unique_key_of_the_TSql_schema()
    {
        var tsql = TSqlSchema.Read(TSqlStatements.Migrations().Select(m => m.Sql));

        foreach (var (table, keys) in SqlServerDialect.UniqueKeys)
            foreach (var key in keys)
                Assert.True(tsql.UniqueKeys.Contains(TSqlSchema.KeyName(table, key)), $"{table} ({string.Join(", ", key)}) is not a unique key of the T-SQL schema");
    }

    [Fact]
    public void GO_splits_a_migration_into_the_batches_the_runner_sends()
    {
        var batches = TSqlStatements.Dialect.Batches("ALTER TABLE t ADD c INT NULL;\nGO\n\nCREATE INDEX ix ON t (c);\n go \n");

        Assert.Equal(["ALTER TABLE t ADD c INT NULL;", "CREATE INDEX ix ON t (c);"], batches.Select(b => b.Trim()));
        Assert.Equal(["SELECT 1; -- GOAL"], new SqliteDialect("Data Source=:memory:").Batches("SELECT 1; -- GOAL"));
    }

    [Fact]
    public void Duplicate_keys_deadlocks_and_snapshot_conflicts_map_to_the_outcomes_of_the_other_dialects()
    {
        var dialect = TSqlStatements.Dialect;

        Assert.Equal(WriteConflict.DuplicateKey, dialect.Classify(SqlErrors.Exception(2627)));
        Assert.Equal(WriteConflict.DuplicateKey, dialect.Classify(SqlErrors.Exception(2601)));
        Assert.Equal(WriteConflict.Transient, dialect.Classify(SqlErrors.Exception(1205)));
        Assert.Equal(WriteConflict.Transient, dialect.Classify(SqlErrors.Exception(3960)));
        Assert.Equal(WriteConflict.None, dialect.Classify(SqlErrors.Exception(515)));
        Assert.Equal(WriteConflict.None, dialect.Classify(new InvalidOperationException("not a database error")));
        Assert.True(dialect.IsUniqueViolation(SqlErrors.Exception(2627)));
    }

    [Fact]
    public void A_sender_lease_resource_is_stable_and_within_sp_getapplock_limits()
    {
        var resource = SqlServerSenderLeases.ResourceOf("mllp/GAM|CHU-X");

        Assert.Equal(resource, SqlServerSenderLeases.ResourceOf("mllp/GAM|CHU-X"));
        Assert.NotEqual(resource, SqlServerSenderLeases.ResourceOf("mllp/GAM|CHU-Y"));
        Assert.StartsWith("dmp-ingest/sender/", resource, StringComparison.Ordinal);
        Assert.True(resource.Length <= 255);
    }

    private static IEnumerable<string> Errors(string origin, string sql) =>
        TSqlStatements.Parse(sql, out _).Select(e => $"{origin}: line {e.Line}, column {e.Column}: {e.Message}{Environment.NewLine}    {Excerpt(sql, e.Line)}");

    private static string Excerpt(string sql, int line) =>
        sql.Split('\n').ElementAtOrDefault(line - 1)?.Trim() ?? "";

    private sealed record SqliteColumn
    {
        public string Name { get; init; } = "";
        public string Type { get; init; } = "";
        public bool IsNotNull { get; init; }
        public long Pk { get; init; }
    }
}
