using Microsoft.Data.SqlClient;

namespace Dmp.Store.Tests.SqlServer;

/// <summary>
/// A real SQL Server for the provider suite, named by <c>DMP_TEST_SQLSERVER</c> (a connection string whose login may
/// create and drop databases). No server can be installed on the build machines: the suite carries the trait
/// <c>Provider=SqlServer</c>, the default <c>./test.sh</c> leaves it out by that trait, and <c>./test.sh --sqlserver</c>
/// runs it. Run without the variable, every test of the suite fails with the reason (never a silent skip).
/// Each test gets a fresh database with READ_COMMITTED_SNAPSHOT ON, dropped at the end of the run.
/// </summary>
public sealed class SqlServerDatabase : IAsyncLifetime
{
    public const string Variable = "DMP_TEST_SQLSERVER";

    private readonly List<string> _databases = [];
    private string? _server;

    public Task InitializeAsync()
    {
        _server = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(_server))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set: the SQL Server provider tests need a server, e.g. {Variable}=\"Server=127.0.0.1,1433;User ID=sa;Password=…;TrustServerCertificate=True\" ./test.sh --sqlserver");
        }

        return Task.CompletedTask;
    }

    /// <summary>A new empty database on the server, as a connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "dmp_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new SqlConnection(Master()))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE [{name}]; ALTER DATABASE [{name}] SET READ_COMMITTED_SNAPSHOT ON WITH ROLLBACK IMMEDIATE;";
            await command.ExecuteNonQueryAsync();
        }

        lock (_databases)
        {
            _databases.Add(name);
        }

        return new SqlConnectionStringBuilder(_server) { InitialCatalog = name }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }

        SqlConnection.ClearAllPools();
        await using var connection = new SqlConnection(Master());
        await connection.OpenAsync();
        foreach (var name in _databases)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [{name}];";
            await command.ExecuteNonQueryAsync();
        }
    }

    private string Master() => new SqlConnectionStringBuilder(_server) { InitialCatalog = "master", Pooling = false }.ConnectionString;
}

[CollectionDefinition(Name)]
public sealed class SqlServerCollection : ICollectionFixture<SqlServerDatabase>
{
    public const string Name = "sqlserver";

    /// <summary>The trait every SQL Server provider test carries (<c>--filter Provider!=SqlServer</c> leaves them out).</summary>
    public const string Trait = "Provider";
    public const string TraitValue = "SqlServer";
}
