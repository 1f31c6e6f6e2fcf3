using Dapper;
using Dmp.Store.Sql;

namespace Dmp.Store.Tests;

/// <summary>
/// The dialect's members do what the repositories rely on, on every provider: one suite, run against
/// SQLite and a real PostgreSQL, so a new dialect (SQL Server) is checked by adding one subclass here.
/// </summary>
public abstract class SqlDialectTests
{
    private protected abstract Task<TestStore> OpenStoreAsync();

    /// <summary>The probe table in the provider's types (SQL Server's TEXT is a legacy large type that no key may hold).</summary>
    private protected virtual string CreateTable =>
        "CREATE TABLE dialect_probe (id INTEGER PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL, CONSTRAINT ux_dialect_probe_name UNIQUE (name));";

    [Fact]
    public async Task Insert_ignoring_duplicate_returns_the_new_row_once_and_nothing_for_the_same_key()
    {
        await using var t = await OpenStoreAsync();
        var dialect = t.Store.Connections;
        await using var connection = await dialect.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(CreateTable);
        var insert = dialect.InsertIgnoringDuplicate("dialect_probe", "id, name, size", "@Id, @Name, 1", "name", returning: "id");

        Assert.Equal(1L, await connection.QuerySingleOrDefaultAsync<long?>(insert, new { Id = 1, Name = "a" }));
        Assert.Null(await connection.QuerySingleOrDefaultAsync<long?>(insert, new { Id = 2, Name = "a" }));
        await connection.ExecuteAsync(dialect.InsertIgnoringDuplicate("dialect_probe", "id, name, size", "@Id, @Name, 1"), new { Id = 1, Name = "b" });
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM dialect_probe;"));
    }

    [Fact]
    public async Task Insert_and_update_returning_give_back_the_rows_they_wrote()
    {
        await using var t = await OpenStoreAsync();
        var dialect = t.Store.Connections;
        await using var connection = await dialect.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(CreateTable);

        Assert.Equal(7L, await connection.ExecuteScalarAsync<long>(
            dialect.InsertReturning("dialect_probe", "id, name, size", "7, 'x', 1", "id")));
        var updated = await connection.QuerySingleAsync<(long Id, long Size)>(
            dialect.UpdateReturning("dialect_probe", "size = size + 1", "name = @Name", "id, size"), new { Name = "x" });
        Assert.Equal((7L, 2L), updated);
        Assert.Empty(await connection.QueryAsync<(long, long)>(
            dialect.UpdateReturning("dialect_probe", "size = size + 1", "name = @Name", "id, size"), new { Name = "none" }));
    }

    [Fact]
    public async Task Limit_keeps_the_first_rows_of_an_ordered_query()
    {
        await using var t = await OpenStoreAsync();
        var dialect = t.Store.Connections;
        await using var connection = await dialect.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(CreateTable);
        await connection.ExecuteAsync("INSERT INTO dialect_probe (id, name, size) VALUES (1, 'a', 1), (2, 'b', 1), (3, 'c', 1);");

        Assert.Equal([3L, 2L], await connection.QueryAsync<long>(
            "SELECT id FROM dialect_probe ORDER BY id DESC" + dialect.Limit("@Take") + ";", new { Take = 2 }));

        await using var transaction = await dialect.BeginWriteAsync(connection, CancellationToken.None);
        Assert.Equal([2L, 3L], await connection.QueryAsync<long>(
            dialect.SelectPageLockingRows("id", "dialect_probe", "size = @Size AND id > 1", "id", "@Take"), new { Size = 1, Take = 5 }, transaction));
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task A_duplicate_key_is_one_outcome_whatever_the_provider_error()
    {
        await using var t = await OpenStoreAsync();
        var dialect = t.Store.Connections;
        await using var connection = await dialect.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(CreateTable);
        await connection.ExecuteAsync("INSERT INTO dialect_probe (id, name, size) VALUES (1, 'a', 1);");

        var sameKey = await Assert.ThrowsAnyAsync<Exception>(
            () => connection.ExecuteAsync("INSERT INTO dialect_probe (id, name, size) VALUES (2, 'a', 1);"));
        var samePrimaryKey = await Assert.ThrowsAnyAsync<Exception>(
            () => connection.ExecuteAsync("INSERT INTO dialect_probe (id, name, size) VALUES (1, 'b', 1);"));
        var missingValue = await Assert.ThrowsAnyAsync<Exception>(
            () => connection.ExecuteAsync("INSERT INTO dialect_probe (id, name) VALUES (3, 'c');"));

        Assert.Equal(WriteConflict.DuplicateKey, dialect.Classify(sameKey));
        Assert.Equal(WriteConflict.DuplicateKey, dialect.Classify(samePrimaryKey));
        Assert.Equal(WriteConflict.None, dialect.Classify(missingValue));
        Assert.Equal(WriteConflict.None, dialect.Classify(new InvalidOperationException("not a database error")));
    }

    [Fact]
    public void Every_instant_is_written_as_sortable_utc_text()
    {
        var instant = new DateTimeOffset(2026, 12, 2, 21, 5, 6, 789, TimeSpan.FromHours(1));

        var written = StoreTime.Write(instant);

        Assert.Equal("2026-12-02T20:05:06.7890000Z", written);
        Assert.Equal(instant, StoreTime.Read(written));
        Assert.True(string.CompareOrdinal(written, StoreTime.Write(instant.AddTicks(1))) < 0);
    }
}

/// <summary>The dialect suite on SQLite.</summary>
public sealed class SqliteDialectTests : SqlDialectTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();
}

/// <summary>The dialect suite on a real PostgreSQL server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresDialectTests(PostgresServer server) : SqlDialectTests
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
