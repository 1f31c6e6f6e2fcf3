using Dapper;
using Dmp.Store.Sql;
using Microsoft.Data.Sqlite;

namespace Dmp.Store.Tests;

/// <summary>
/// The writer's kept statements bind Dapper's bare parameter names under the "@" name the SQL uses (one look-up instead
/// of four), give the parameters their own names back, and leave names written otherwise to Microsoft.Data.Sqlite.
/// </summary>
public sealed class PreparedSqliteParameterNameTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dmp-prepared-names-").FullName;
    private PreparedSqliteConnection _connection = null!;

    public async Task InitializeAsync()
    {
        var inner = new SqliteConnection($"Data Source={Path.Combine(_folder, "t.db")};Pooling=False");
        await inner.OpenAsync();
        _connection = new PreparedSqliteConnection(inner);
        await _connection.ExecuteAsync("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, name2 TEXT, code TEXT);");
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task Bare_names_bind_to_their_at_parameters_even_when_one_name_starts_another_and_get_their_names_back()
    {
        // @Name and @Name2 in one statement: each value must reach its own parameter, on first use and when reused.
        for (var i = 0; i < 3; i++)
        {
            var parameters = new DynamicParameters();
            parameters.Add("Name", $"a{i}");
            parameters.Add("Name2", $"b{i}");
            parameters.Add("Code", ":literal @Code in text");
            await _connection.ExecuteAsync("INSERT INTO item (name, name2, code) VALUES (@Name, @Name2, @Code);", parameters);
        }

        var rows = (await _connection.QueryAsync<(string Name, string Name2, string Code)>("SELECT name, name2, code FROM item ORDER BY id;")).ToList();
        Assert.Equal([("a0", "b0", ":literal @Code in text"), ("a1", "b1", ":literal @Code in text"), ("a2", "b2", ":literal @Code in text")], rows);

        await using var command = _connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM item WHERE name = @Name;";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "Name";
        parameter.Value = "a1";
        command.Parameters.Add(parameter);
        Assert.Equal(1L, await command.ExecuteScalarAsync());
        Assert.Equal(1L, await command.ExecuteScalarAsync());
        await command.DisposeAsync();
        Assert.Equal("Name", parameter.ParameterName);
    }

    [Fact]
    public async Task Names_written_with_another_prefix_or_with_their_prefix_still_bind()
    {
        await _connection.ExecuteAsync("INSERT INTO item (name, code) VALUES (:Name, $Code);", new { Name = "colon", Code = "dollar" });
        var parameters = new DynamicParameters();
        parameters.Add("@Name", "at");
        await _connection.ExecuteAsync("INSERT INTO item (name) VALUES (@Name);", parameters);

        Assert.Equal(["colon", "at"], await _connection.QueryAsync<string>("SELECT name FROM item ORDER BY id;"));
        Assert.Equal("dollar", await _connection.QuerySingleAsync<string>("SELECT code FROM item WHERE name = :Name;", new { Name = "colon" }));
    }
}
