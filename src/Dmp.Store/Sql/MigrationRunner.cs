using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Dapper;

namespace Dmp.Store.Sql;

/// <summary>One embedded migration script: <c>Migrations/&lt;Dialect&gt;/NNNN_name.sql</c>.</summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Applies the embedded migration scripts of the store's dialect in order, each in its own write
/// transaction holding the database's write lock, and records each in <c>schema_version</c>.
/// Safe to run twice and from two processes at once: the loser of the lock sees the version applied.
/// </summary>
public sealed partial class MigrationRunner
{
    private readonly SqlDialect _connections;
    private readonly TimeProvider _time;

    public MigrationRunner(SqlDialect connections, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(connections);
        _connections = connections;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The scripts of this dialect, by version.</summary>
    public IReadOnlyList<Migration> Migrations => LoadMigrations(_connections.MigrationFolder);

    /// <summary>Applies the scripts not yet applied; returns the versions this call applied.</summary>
    public async Task<IReadOnlyList<int>> ApplyAsync(CancellationToken cancellationToken)
    {
        var applied = new List<int>();
        var connection = await _connections.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await _connections.CheckServerAsync(connection, cancellationToken).ConfigureAwait(false);
            foreach (var migration in Migrations)
            {
                var transaction = await _connections.BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    await _connections.LockForMigrationAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                    await connection.ExecuteAsync(new CommandDefinition(
                        _connections.CreateSchemaVersionTableSql, transaction: transaction,
                        cancellationToken: cancellationToken)).ConfigureAwait(false);
                    var done = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                        "SELECT COUNT(*) FROM schema_version WHERE version = @Version;", new { migration.Version },
                        transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    if (done == 0)
                    {
                        foreach (var batch in _connections.Batches(migration.Sql))
                        {
                            await connection.ExecuteAsync(new CommandDefinition(
                                batch, transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                        }
                        // The time as a literal, not a text parameter: a PostgreSQL database older than 0009 has a
                        // TIMESTAMPTZ applied_at, which takes an untyped literal but refuses a text value.
                        await connection.ExecuteAsync(new CommandDefinition(
                            $"INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, '{StoreTime.Write(_time.GetUtcNow())}');",
                            new { migration.Version, migration.Name },
                            transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                        applied.Add(migration.Version);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return applied;
    }

    internal static IReadOnlyList<Migration> LoadMigrations(string folder)
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var prefix = $"{assembly.GetName().Name}.Migrations.{folder}.";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var fileName = resource[prefix.Length..];
            var match = ScriptName().Match(fileName);
            if (!match.Success)
            {
                throw new InvalidOperationException($"Migration script {resource} is not named NNNN_name.sql.");
            }

            migrations.Add(new Migration(
                int.Parse(match.Groups["version"].Value, CultureInfo.InvariantCulture),
                match.Groups["name"].Value,
                ReadResource(assembly, resource)));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException($"Two {folder} migration scripts share version {migrations[i].Version}.");
            }
        }

        return migrations;
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded migration {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^(?<version>\d+)_(?<name>[A-Za-z0-9_\-]+)\.sql$")]
    private static partial Regex ScriptName();
}
