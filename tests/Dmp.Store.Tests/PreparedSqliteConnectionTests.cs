using Dapper;
using Dmp.Store.Sql;
using Microsoft.Data.Sqlite;

namespace Dmp.Store.Tests;

/// <summary>
/// The inbox writer's connection keeps its statements compiled: each SQL text is compiled once and rebound
/// with new values, and everything Dapper does on a plain connection still works on it.
/// </summary>
public sealed class PreparedSqliteConnectionTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dmp-prepared-").FullName;
    private PreparedSqliteConnection _connection = null!;

    public async Task InitializeAsync()
    {
        var inner = new SqliteConnection($"Data Source={Path.Combine(_folder, "t.db")};Pooling=False");
        await inner.OpenAsync();
        _connection = new PreparedSqliteConnection(inner);
        await _connection.ExecuteAsync("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, body BLOB);");
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_same_statement_is_kept_once_and_rebound_with_each_call_s_values()
    {
        const string insert = "INSERT INTO item (name, body) VALUES (@Name, @Body) RETURNING id;";
        var ids = new List<long>();
        for (var i = 0; i < 50; i++)
            ids.Add(await _connection.QuerySingleAsync<long>(insert, new { Name = $"n{i}", Body = new byte[] { (byte)i, 7 } }));

        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), ids);
        var cachedAfterInserts = _connection.Cached;
        for (var i = 0; i < 50; i++)
        {
            var row = await _connection.QuerySingleAsync<(string Name, byte[] Body)>(
                "SELECT name, body FROM item WHERE id = @Id;", new { Id = ids[i] });
            Assert.Equal($"n{i}", row.Name);
            Assert.Equal(new byte[] { (byte)i, 7 }, row.Body);
        }

        Assert.Equal(cachedAfterInserts + 1, _connection.Cached);
        Assert.True(_connection.Reuses >= 98, $"only {_connection.Reuses} executions reused a compiled statement");
    }

    [Fact]
    public async Task Dapper_list_parameters_of_different_sizes_bind_their_own_values()
    {
        for (var i = 1; i <= 6; i++)
            await _connection.ExecuteAsync("INSERT INTO item (name) VALUES (@Name);", new { Name = $"x{i}" });

        foreach (var wanted in new[] { new[] { 1L }, [2L, 5L], [1L, 3L, 6L], [4L, 2L] })
        {
            var names = (await _connection.QueryAsync<string>(
                "SELECT name FROM item WHERE id IN @Ids ORDER BY id;", new { Ids = wanted })).ToList();
            Assert.Equal(wanted.Order().Select(id => $"x{id}"), names);
        }
    }

    [Fact]
    public async Task A_statement_still_reading_is_not_rebound_by_a_nested_call_of_the_same_text()
    {
        for (var i = 1; i <= 5; i++)
            await _connection.ExecuteAsync("INSERT INTO item (name) VALUES (@Name);", new { Name = $"y{i}" });

        const string byMinimum = "SELECT id, name FROM item WHERE id >= @Min ORDER BY id;";
        var outer = new List<(long, int)>();
        await foreach (var row in _connection.QueryUnbufferedAsync<(long Id, string Name)>(byMinimum, new { Min = 2 }))
        {
            // The same text while the outer reader is open: a one-off command, the outer rows untouched.
            var inner = (await _connection.QueryAsync<(long Id, string Name)>(byMinimum, new { Min = row.Id })).Count();
            outer.Add((row.Id, inner));
        }

        Assert.Equal([(2L, 4), (3L, 3), (4L, 2), (5L, 1)], outer);
    }

    [Fact]
    public async Task Statements_follow_each_transaction_and_savepoint_and_survive_a_failed_execution()
    {
        const string insert = "INSERT INTO item (name) VALUES (@Name);";
        await using (var first = await _connection.Inner.BeginTransactionAsync())
        {
            await _connection.ExecuteAsync(insert, new { Name = "kept" }, first);
            await first.SaveAsync("s");
            await _connection.ExecuteAsync(insert, new { Name = "rolled back" }, first);
            await first.RollbackAsync("s");

            // A unique violation fails this execution only; the kept statement runs again afterwards.
            var violation = await Assert.ThrowsAsync<SqliteException>(() => _connection.ExecuteAsync(insert, new { Name = "kept" }, first));
            Assert.Equal(19, violation.SqliteErrorCode);
            await first.CommitAsync();
        }

        await using (var second = await _connection.Inner.BeginTransactionAsync())
        {
            await _connection.ExecuteAsync(insert, new { Name = "second" }, second);
            await second.CommitAsync();
        }

        var names = await _connection.QueryAsync<string>("SELECT name FROM item ORDER BY id;");
        Assert.Equal(["kept", "second"], names);
    }

    [Fact]
    public async Task Texts_beyond_the_capacity_run_once_each_without_being_kept()
    {
        for (var i = 0; i < PreparedSqliteConnection.Capacity + 20; i++)
            Assert.Equal(i, await _connection.ExecuteScalarAsync<long>($"SELECT {i};"));

        Assert.Equal(PreparedSqliteConnection.Capacity, _connection.Cached);
    }
}
