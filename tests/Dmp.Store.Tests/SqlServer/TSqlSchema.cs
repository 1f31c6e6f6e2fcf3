using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Data.SqlClient;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace Dmp.Store.Tests.SqlServer;

/// <summary>A column of the T-SQL schema as ScriptDom's syntax tree gives it.</summary>
internal sealed record TSqlColumn(string Type, SqlDataTypeOption? Option, bool Nullable);

/// <summary>
/// The schema the T-SQL migrations create, read from ScriptDom's syntax tree (CREATE TABLE, ALTER TABLE … ADD, unique
/// constraints and unique indexes): tables, their columns with type and nullability, and their unique keys.
/// </summary>
internal sealed partial class TSqlSchema : TSqlFragmentVisitor
{
    public Dictionary<string, Dictionary<string, TSqlColumn>> Tables { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Unique keys and primary keys as <see cref="KeyName"/> writes them.</summary>
    public HashSet<string> UniqueKeys { get; } = new(StringComparer.OrdinalIgnoreCase);

    public static TSqlSchema Read(IEnumerable<string> scripts)
    {
        var schema = new TSqlSchema();
        foreach (var script in scripts)
        {
            var errors = TSqlStatements.Parse(script, out var fragment);
            if (errors.Count > 0)
                throw new InvalidOperationException($"a migration does not parse: {errors[0].Message} (line {errors[0].Line})");
            fragment.Accept(schema);
        }

        return schema;
    }

    public static string KeyName(string table, IEnumerable<string> columns) =>
        $"{table.ToLowerInvariant()}({string.Join(",", columns.Select(c => c.ToLowerInvariant()).Order(StringComparer.Ordinal))})";

    /// <summary>
    /// A SQLite declared type against the T-SQL column: TEXT is character data, BLOB binary, INTEGER a whole number (a
    /// BIT for flags), and an id, a link, a sequence number or a size a BIGINT (SQLite's INTEGER holds 64 bits).
    /// </summary>
    public static bool Compatible(string sqliteType, string table, string column, TSqlColumn tsql)
    {
        _ = table;
        return sqliteType.ToUpperInvariant() switch
        {
            "TEXT" => tsql.Option is SqlDataTypeOption.NVarChar or SqlDataTypeOption.VarChar or SqlDataTypeOption.NChar or SqlDataTypeOption.Char,
            "BLOB" => tsql.Option is SqlDataTypeOption.VarBinary or SqlDataTypeOption.Binary,
            "INTEGER" when column == "id" || column.EndsWith("_id", StringComparison.Ordinal) || column is "merged_into" or "seq" or "length" or "size"
                => tsql.Option is SqlDataTypeOption.BigInt,
            "INTEGER" => tsql.Option is SqlDataTypeOption.BigInt or SqlDataTypeOption.Int or SqlDataTypeOption.SmallInt or SqlDataTypeOption.Bit,
            _ => false,
        };
    }

    /// <summary>The columns of each table a PostgreSQL script creates (names only), by table.</summary>
    public static Dictionary<string, HashSet<string>> PostgresColumns(string script)
    {
        var tables = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (Match table in PostgresTable().Matches(script))
        {
            tables[table.Groups["name"].Value] = new HashSet<string>(
                PostgresColumn().Matches(table.Groups["body"].Value).Select(c => c.Groups["column"].Value), StringComparer.OrdinalIgnoreCase);
        }

        return tables;
    }

    public override void Visit(CreateTableStatement node)
    {
        var table = Columns(node.SchemaObjectName.BaseIdentifier.Value);
        Add(node.SchemaObjectName.BaseIdentifier.Value, table, node.Definition);
    }

    public override void Visit(AlterTableAddTableElementStatement node) =>
        Add(node.SchemaObjectName.BaseIdentifier.Value, Columns(node.SchemaObjectName.BaseIdentifier.Value), node.Definition);

    public override void Visit(CreateIndexStatement node)
    {
        if (node.Unique)
            UniqueKeys.Add(KeyName(node.OnName.BaseIdentifier.Value, node.Columns.Select(c => c.Column.MultiPartIdentifier.Identifiers[^1].Value)));
    }

    private Dictionary<string, TSqlColumn> Columns(string table)
    {
        if (!Tables.TryGetValue(table, out var columns))
            Tables[table] = columns = new Dictionary<string, TSqlColumn>(StringComparer.OrdinalIgnoreCase);
        return columns;
    }

    private void Add(string table, Dictionary<string, TSqlColumn> columns, TableDefinition definition)
    {
        var primary = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var constraint in definition.TableConstraints.OfType<UniqueConstraintDefinition>())
        {
            var names = constraint.Columns.Select(c => c.Column.MultiPartIdentifier.Identifiers[^1].Value).ToList();
            UniqueKeys.Add(KeyName(table, names));
            if (constraint.IsPrimaryKey)
                primary.UnionWith(names);
        }

        foreach (var column in definition.ColumnDefinitions)
        {
            var name = column.ColumnIdentifier.Value;
            var key = column.Constraints.OfType<UniqueConstraintDefinition>().FirstOrDefault();
            if (key is not null)
                UniqueKeys.Add(KeyName(table, [name]));
            var notNull = column.Constraints.OfType<NullableConstraintDefinition>().Any(n => !n.Nullable)
                          || key?.IsPrimaryKey == true || primary.Contains(name) || column.IdentityOptions is not null;
            var option = (column.DataType as SqlDataTypeReference)?.SqlDataTypeOption;
            var type = column.DataType is null ? "computed" : string.Join(' ', column.DataType.ScriptTokenStream
                .Skip(column.DataType.FirstTokenIndex).Take(column.DataType.LastTokenIndex - column.DataType.FirstTokenIndex + 1).Select(t => t.Text));
            columns[name] = new TSqlColumn(type, option, !notNull);
        }
    }

    [GeneratedRegex(@"CREATE TABLE (?<name>\w+) \((?<body>.*?)\n\);", RegexOptions.Singleline)]
    private static partial Regex PostgresTable();

    [GeneratedRegex(@"^\s+(?<column>\w+)\s+(TEXT|BOOLEAN|BYTEA|BIGINT|INTEGER|SMALLINT|NUMERIC|VARCHAR)\b", RegexOptions.Multiline)]
    private static partial Regex PostgresColumn();
}

/// <summary>SqlClient's exceptions as the server raises them (SqlException has no public constructor).</summary>
internal static class SqlErrors
{
    public static SqlException Exception(int number)
    {
        var errorType = typeof(SqlError);
        var error = errorType.GetConstructors(BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Public)
            .OrderByDescending(c => c.GetParameters().Length)
            .Select(c => c.Invoke(c.GetParameters().Select(p => Argument(p, number)).ToArray()))
            .First();
        var collection = (SqlErrorCollection)Activator.CreateInstance(typeof(SqlErrorCollection), nonPublic: true)!;
        typeof(SqlErrorCollection).GetMethod("Add", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(collection, [error]);
        var create = typeof(SqlException).GetMethods(BindingFlags.NonPublic | BindingFlags.Static)
            .Where(m => m.Name == "CreateException")
            .OrderBy(m => m.GetParameters().Length)
            .First();
        return (SqlException)create.Invoke(null, create.GetParameters().Select(p => p.ParameterType == typeof(SqlErrorCollection) ? collection : Default(p)).ToArray())!;
    }

    private static object? Argument(ParameterInfo parameter, int number) => parameter switch
    {
        { ParameterType: var t, Name: "infoNumber" } when t == typeof(int) => number,
        { ParameterType: var t, Name: "errorMessage" } when t == typeof(string) => $"error {number}",
        _ => Default(parameter),
    };

    private static object? Default(ParameterInfo parameter) =>
        parameter.ParameterType == typeof(string) ? "test"
        : parameter.ParameterType.IsValueType ? Activator.CreateInstance(parameter.ParameterType)
        : null;
}
