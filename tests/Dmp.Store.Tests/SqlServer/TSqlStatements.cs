using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Dmp.Store.Blobs;
using Dmp.Store.Dossier;
using Dmp.Store.Sql;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace Dmp.Store.Tests.SqlServer;

/// <summary>One statement the SQL Server store can send, and where it was found (for the failure message).</summary>
internal sealed record TSqlStatement(string Origin, string Sql);

/// <summary>
/// Every statement the store can send to SQL Server, found without a server, from three places:
/// <list type="number">
/// <item>the object graph of a <see cref="DmpStore"/> built on the SqlServer dialect (its repositories' statements made
/// in their constructors), the dialect's statement sets and its own constants;</item>
/// <item>the store's source: every string literal that is a whole statement (a verb first, a <c>;</c> last), with its
/// interpolations filled in from the store's constants and the dialect (an interpolation it cannot fill fails the test,
/// so a new one is never passed over);</item>
/// <item>the statements assembled from fragments at run time (searches, the inbox listing), built here with every clause.</item>
/// </list>
/// Lists Dapper expands (<c>IN @Ids</c>) are expanded as Dapper does before parsing.
/// </summary>
internal static partial class TSqlStatements
{
    /// <summary>
    /// Source files not scanned: the other dialects, the defaults SqlServerDialect overrides (SqlDialect.cs), and the SQL
    /// Server dialect's own templates (their holes are parameters: what they produce is taken from the object graph, its
    /// constants by reflection).
    /// </summary>
    private static readonly string[] OtherDialectFiles =
        ["Sql/SqliteDialect.cs", "Sql/PostgresDialect.cs", "Sql/PostgresSenderLeases.cs", "Sql/PreparedSqliteConnection.cs", "Sql/SqlDialect.cs", "Sql/SqlServerDialect.cs"];

    /// <summary>Constants SQL Server never receives because the dialect replaces them (name → why).</summary>
    internal static readonly IReadOnlyDictionary<string, string> NotSentToSqlServer = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["LastIdWithControlIdSql"] = "SqlServerDialect overrides AnyIdWithControlIdSql (TOP (1) instead of LIMIT 1)",
    };

    /// <summary>
    /// The literals that begin a statement finished at run time (a dialect member, a list or clauses appended), by file and
    /// start: each is built whole by the object graph walk or by <see cref="Composed"/>. A new one fails the check until added.
    /// </summary>
    private static readonly (string File, string Start)[] ComposedFragments =
    [
        ("Inbox/InboxClaims.cs", "SELECT "),                                   // object graph: InboxClaims' fields
        ("Dossier/DossierStatements.cs", "SELECT "),                           // object graph: DossierStatements
        ("Dossier/DossierSearchSql.cs", "SELECT {"),                           // Composed: the searches and the entry read
        ("Dossier/DossierQueries.cs", "SELECT {DossierSearchSql.DocumentColumns} FROM document d WHERE d.id = @Id"), // Composed
        ("Inbox/InboxSearchSql.cs", "SELECT"),                                 // Composed: the operators' search, every filter
        ("Inbox/HeldMessages.cs", "SELECT DISTINCT h.message_id"),             // Composed: SupersedeDraftsAsync
        ("Inbox/InboxReplay.cs", "UPDATE inbound_message SET status = @Accepted"), // Composed: RequeueAsync
        ("Retention/InboxRetention.cs", "UPDATE inbound_message SET raw = NULL"), // Composed: the purge of a page
        ("Audit/AuditLog.cs", "SELECT id AS Id, chain AS Chain"),              // Composed: ListAsync
        ("Inbox/InboxFigures.cs", "SELECT"),                                   // Composed: its builders, with and without a sender
        ("Inbox/InboxSearchSql.cs", "DELETE FROM message_patient WHERE message_id IN ("), // Composed: a block of ids
        ("Inbox/InboxSearchSql.cs", "INSERT INTO message_patient"),            // Composed: every block size
    ];

    /// <summary>Interpolations that are run-time values, filled with a sample of what they hold.</summary>
    private static readonly IReadOnlyDictionary<string, string> Samples = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["StoreTime.Write(_time.GetUtcNow())"] = "2026-01-02T03:04:05.6789010Z",
        ["start"] = "SELECT @Id",
        ["string.Join(\" UNION ALL \", keys)"] = "SELECT CAST(0 AS BIGINT) AS k, 1 AS start_id",   // PatientsByKeys' keys: Composed builds them
        ["string.Join(\", \", InboxSearchSql.IdParameters.Select(p => \"@\" + p))"] = "@I0, @I1, @I2, @I3, @I4, @I5, @I6, @I7",
    };

    public static SqlServerDialect Dialect { get; } = new("Server=127.0.0.1,1;Database=dmp;User ID=dmp;Password=unused;Connect Timeout=1");

    public static string SourceRoot { get; } = FindSourceRoot();

    /// <summary>The migrations, each whole (a script with its GO lines, as ScriptDom reads scripts).</summary>
    public static IReadOnlyList<TSqlStatement> Migrations() =>
        [.. MigrationRunner.LoadMigrations("SqlServer").Select(m => new TSqlStatement($"Migrations/SqlServer/{m.Version:D4}_{m.Name}.sql", m.Sql))];

    /// <summary>Every statement the dialect and the repositories send (migrations apart), deduplicated.</summary>
    public static async Task<IReadOnlyList<TSqlStatement>> AllAsync()
    {
        var found = new List<TSqlStatement>();
        found.AddRange(await FromObjectGraphAsync());
        found.AddRange(FromSource(out var unresolved, out var fragments));
        var unknown = fragments.Where(f => !ComposedFragments.Any(k => f.File == k.File && f.Text.StartsWith(k.Start, StringComparison.Ordinal))).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException("statements assembled from fragments the check does not build (add them to TSqlStatements.Composed and ComposedFragments):"
                + Environment.NewLine + string.Join(Environment.NewLine, unknown.Select(f => $"{f.File}: {f.Text}")));
        }

        if (unresolved.Count > 0)
        {
            throw new InvalidOperationException("interpolations the statement scan cannot fill (add them to TSqlStatements.Samples):"
                + Environment.NewLine + string.Join(Environment.NewLine, unresolved));
        }

        found.AddRange(Composed());
        return [.. found.GroupBy(s => Normalise(s.Sql)).Select(g => g.First() with { Sql = ExpandLists(g.First().Sql) })];
    }

    public static IList<ParseError> Parse(string sql, out TSqlFragment fragment)
    {
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(sql);
        fragment = parser.Parse(reader, out var errors);
        return errors;
    }

    /// <summary>The store's objects on the SqlServer dialect, walked for statement text (nothing connects: the writer opens lazily).</summary>
    private static async Task<IReadOnlyList<TSqlStatement>> FromObjectGraphAsync()
    {
        var found = new List<TSqlStatement>();
        using var folder = new TempFolder();
        var constructor = typeof(DmpStore).GetConstructors(BindingFlags.NonPublic | BindingFlags.Instance).Single();
        var store = (DmpStore)constructor.Invoke([
            new StoreOptions { Provider = StoreProvider.SqlServer, ConnectionString = "Server=127.0.0.1,1" }, Dialect,
            new FolderBlobStore(folder.Path), Array.Empty<int>(), TimeProvider.System]);
        try
        {
            Walk(store, "DmpStore", found, new HashSet<object>(ReferenceEqualityComparer.Instance), 0);
            Walk(Dialect.AuditStatements, "AuditStatements", found, new HashSet<object>(ReferenceEqualityComparer.Instance), 0);
            Walk(Dialect.DossierStatements, "DossierStatements", found, new HashSet<object>(ReferenceEqualityComparer.Instance), 0);
            found.Add(new("SqlServerDialect.InsertInboundMessageSql", Dialect.InsertInboundMessageSql));
            found.Add(new("SqlServerDialect.AnyIdWithControlIdSql", Dialect.AnyIdWithControlIdSql));
            found.Add(new("SqlServerDialect.CreateSchemaVersionTableSql", Dialect.CreateSchemaVersionTableSql));
            found.Add(new("HeldMessages.ReleaseIdentitySql", Inbox.HeldMessages.ReleaseIdentitySql(Dialect)));
            foreach (var (name, value) in new[] { typeof(SqlServerDialect), typeof(SqlServerSenderLeases) }.SelectMany(StringConstants))
                if (IsStatement(value))
                    found.Add(new(name, value));
        }
        finally
        {
            await store.DisposeAsync();
        }

        return found;
    }

    private static void Walk(object? value, string path, List<TSqlStatement> found, HashSet<object> seen, int depth)
    {
        if (value is null || depth > 6)
            return;
        if (value is string text)
        {
            if (IsStatement(text))
                found.Add(new(path, text));
            return;
        }

        var type = value.GetType();
        if (type.IsPrimitive || type.IsEnum || value is Delegate || !seen.Add(value))
            return;
        if (value is IEnumerable sequence && type.Assembly == typeof(string).Assembly)
        {
            foreach (var item in sequence)
                if (item is string s && IsStatement(s))
                    found.Add(new(path + "[]", s));
            return;
        }

        if (type.Assembly != typeof(DmpStore).Assembly)
            return;
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                Walk(field.GetValue(value), path + "." + field.Name, found, seen, depth + 1);
        }
    }

    private static IEnumerable<(string Name, string Value)> StringConstants(Type type) =>
        type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(f => f.FieldType == typeof(string) && (f.IsLiteral || f.IsInitOnly))
            .Select(f => ($"{type.Name}.{f.Name}", (string?)f.GetValue(null)))
            .Where(p => p.Item2 is not null)
            .Select(p => (p.Item1, p.Item2!));

    /// <summary>Whole statements written as literals in the store's source, their interpolations filled.</summary>
    private static IReadOnlyList<TSqlStatement> FromSource(out List<string> unresolved, out List<(string File, string Text)> fragments)
    {
        unresolved = [];
        fragments = [];
        var found = new List<TSqlStatement>();
        var store = Path.Combine(SourceRoot, "src", "Dmp.Store");
        foreach (var file in Directory.EnumerateFiles(store, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(store, file).Replace('\\', '/');
            if (relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal) || OtherDialectFiles.Contains(relative))
                continue;
            var text = File.ReadAllText(file);
            foreach (var (line, name, literal) in Literals(text))
            {
                if (!IsStatement(literal.Text))
                    continue;
                if (!literal.Text.TrimEnd().EndsWith(';'))
                {
                    fragments.Add((relative, Normalise(literal.Text)));
                    continue;
                }

                if (name is not null && NotSentToSqlServer.ContainsKey(name))
                    continue;
                var filled = literal.Interpolated ? Fill(literal.Text, $"{relative}:{line}", unresolved) : literal.Text;
                found.Add(new($"{relative}:{line}", filled));
            }
        }

        return found;
    }

    private readonly record struct Literal(string Text, bool Interpolated);

    /// <summary>The string literals of a C# file (raw, verbatim-free regular, interpolated or not), with their line and the constant they initialise.</summary>
    private static IEnumerable<(int Line, string? Name, Literal Literal)> Literals(string source)
    {
        var results = new List<(int, string?, Literal)>();
        var masked = source.ToCharArray();
        foreach (Match m in RawLiteral().Matches(source))
        {
            var body = Dedent(m.Groups["body"].Value);
            results.Add((LineOf(source, m.Index), NameBefore(source, m.Index), new Literal(body, m.Groups["dollar"].Length > 0)));
            for (var i = m.Index; i < m.Index + m.Length; i++)
                masked[i] = ' ';
        }

        var rest = new string(masked);
        foreach (Match m in CommentLine().Matches(rest))
            for (var i = m.Index; i < m.Index + m.Length; i++)
                masked[i] = ' ';
        rest = new string(masked);
        foreach (Match m in RegularLiteral().Matches(rest))
        {
            var body = m.Groups["body"].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            results.Add((LineOf(source, m.Index), NameBefore(source, m.Index), new Literal(body, m.Groups["dollar"].Length > 0)));
        }

        return results;
    }

    private static string Dedent(string body)
    {
        var lines = body.Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart())).Trim();
    }

    private static int LineOf(string text, int index) => text.AsSpan(0, index).Count('\n') + 1;

    private static string? NameBefore(string text, int index)
    {
        var start = Math.Max(0, index - 120);
        var m = ConstantName().Match(text[start..index]);
        return m.Success ? m.Groups["name"].Value : null;
    }

    /// <summary>Replaces each <c>{expression}</c> with the store constant or the dialect member it names, or a sample.</summary>
    private static string Fill(string text, string origin, List<string> unresolved) =>
        Hole().Replace(text, m =>
        {
            var expression = m.Groups["expr"].Value.Trim();
            if (Samples.TryGetValue(expression, out var sample))
                return sample;
            if (DialectCall().Match(expression) is { Success: true } call)
            {
                var member = call.Groups["member"].Value;
                var arguments = call.Groups["args"].Success
                    ? StringArgument().Matches(call.Groups["args"].Value).Select(a => (object)a.Groups[1].Value).ToArray()
                    : null;
                var result = arguments is null
                    ? typeof(SqlServerDialect).GetProperty(member, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)?.GetValue(Dialect)
                    : typeof(SqlServerDialect).GetMethod(member, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)?
                        .Invoke(Dialect, member == nameof(SqlDialect.Concat) ? [arguments.Cast<string>().ToArray()] : arguments);
                if (result is string s)
                    return s;
            }

            if (ConstantValue(expression) is { } constant)
                return constant;
            unresolved.Add($"{origin}: {{{expression}}}");
            return m.Value;
        });

    /// <summary>A constant of the store named <c>Name</c> or <c>Type.Name</c> (unique by that name).</summary>
    private static string? ConstantValue(string expression)
    {
        if (!ConstantPath().IsMatch(expression))
            return null;
        var parts = expression.Split('.');
        var name = parts[^1];
        var owner = parts.Length > 1 ? parts[^2] : null;
        var values = typeof(DmpStore).Assembly.GetTypes()
            .Where(t => owner is null || t.Name == owner)
            .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Where(f => f.Name == name && f.IsLiteral)
                .Select(f => Convert.ToString(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture)))
            .Distinct()
            .ToList();
        return values.Count == 1 ? values[0] : null;
    }

    /// <summary>The statements put together from fragments at run time, with every optional clause.</summary>
    private static IEnumerable<TSqlStatement> Composed()
    {
        var search = new DossierSearchSql(Dialect);
        var codes = new List<IReadOnlyList<CodeMatch>> { new List<CodeMatch> { new("11488-4", ["http://loinc.org"]), new("X", null) } };
        var bound = new List<TimeBound>
        {
            new(TimeComparison.NotBefore, DateTimeOffset.UnixEpoch),
            new(TimeComparison.Before, DateTimeOffset.UnixEpoch.AddYears(60)),
        };
        var view = new CallerView { IncludeMasked = false, MaskedAuthorRpps = "10000000001", PatientView = true, HiddenStoredBefore = DateTimeOffset.UnixEpoch, Now = DateTimeOffset.UnixEpoch };
        var after = new PageRequest(10, Ascending: false, After: new PageKey("2026-01-01T00:00:00.0000000Z", 7));
        var documents = new DocumentFilter
        {
            PatientId = 1, Statuses = ["current"], Types = codes, Categories = codes, Formats = codes, Facilities = codes, Settings = codes,
            Events = codes, UniqueIds = codes, SecurityLabels = [["MASQUE_PS", "INVISIBLE_PATIENT", "N"]], AuthorGiven = [["jea"]], AuthorFamily = [["dup"]],
            RelatedTo = [[1L, 2L]], Date = bound, Creation = bound, Period = bound,
        };
        yield return new("DossierSearchSql.DocumentSearch", search.DocumentSearch(documents, view, after).Sql);
        yield return new("DossierSearchSql.EntrySearch (one kind)", search.EntrySearch(
            new EntryFilter { PatientId = 1, Kinds = ["Observation"], Codes = codes, Date = bound }, view, after).Sql);
        yield return new("DossierSearchSql.EntrySearch (kinds)", search.EntrySearch(
            new EntryFilter { PatientId = 1, Kinds = ["Observation", "Condition"] }, new CallerView { IncludeMasked = true }, new PageRequest(5, Ascending: true)).Sql);
        yield return new("DossierSearchSql.EntryRead", DossierSearchSql.EntryRead("Observation", "0123456789abcdef0123456789abcdef", view).Sql);

        // The operators' search (InboxSearchSql) with every filter, the patient with and without a system, the type alone and with its event.
        foreach (var (patientSystem, type) in new[] { ((string?)null, "ADT"), ("1.2.250.1.213.1.4.8", "ADT^A01") })
        {
            var filter = new Inbox.InboxFilter
            {
                Sender = "s", ControlId = "c", Status = "failed", Since = DateTimeOffset.UnixEpoch, Until = DateTimeOffset.UnixEpoch.AddYears(60),
                PatientValue = "1", PatientSystem = patientSystem, Type = type, Document = "1.2.3",
            };
            var where = Inbox.InboxSearchSql.Where(filter, new Dapper.DynamicParameters());
            yield return new($"InboxSearchSql.List ({type})", Inbox.InboxSearchSql.List(Dialect, where, afterCursor: true));
            yield return new($"InboxSearchSql.Stats ({type})", Inbox.InboxSearchSql.Stats(where));
            yield return new($"InboxSearchSql.ReplayCount ({type})", Inbox.InboxSearchSql.ReplayCount(Dialect, where));
            yield return new($"InboxSearchSql.ReplayIds ({type})", Inbox.InboxSearchSql.ReplayIds(Dialect, where));
        }

        var none = Inbox.InboxSearchSql.Where(new Inbox.InboxFilter(), new Dapper.DynamicParameters());
        yield return new("InboxSearchSql.List (no filter)", Inbox.InboxSearchSql.List(Dialect, none, afterCursor: false));
        // The retention purge of one page, and the message history line every writer appends.
        yield return new("InboxRetention purge", "UPDATE inbound_message SET raw = NULL, blob_key = NULL, raw_purged_at = @Now WHERE " + Dialect.InList("id", "Ids") + ";");
        yield return new("InboxReplay.RequeueAsync",
            "UPDATE inbound_message SET status = @Accepted, error = NULL WHERE id = @Id AND " + Dialect.InList("status", "Replayable")
            + " AND (raw IS NOT NULL OR blob_key IS NOT NULL);");
        var document = new System.Text.StringBuilder($"SELECT {DossierSearchSql.DocumentColumns} FROM document d WHERE d.id = @Id");
        DossierSearchSql.AppendVisibility(document, new Dapper.DynamicParameters(), view, "d");
        yield return new("DossierQueries.GetDocumentAsync", document.Append(';').ToString());
        var audit = File.ReadAllText(Path.Combine(SourceRoot, "src", "Dmp.Store", "Audit", "AuditLog.cs"));
        var auditList = RawLiteral().Matches(audit).Select(m => Dedent(m.Groups["body"].Value)).Single(t => t.StartsWith("SELECT id AS Id, chain AS Chain", StringComparison.Ordinal));
        yield return new("AuditLog.ListAsync", auditList + Dialect.Limit("@Limit") + ";");
        foreach (var bySender in new[] { false, true })
        {
            yield return new($"InboxFigures.CountAccepted (sender {bySender})", Inbox.InboxFigures.CountAcceptedSql(bySender));
            yield return new($"InboxFigures.OldestAccepted (sender {bySender})", Inbox.InboxFigures.OldestAcceptedSql(Dialect, bySender));
            yield return new($"InboxFigures.EnteredSince (sender {bySender})", Inbox.InboxFigures.EnteredSinceSql(bySender));
        }

        // A processing chunk's statements of fixed shapes: the search index by blocks, the patient's keys in one look-up.
        yield return new("InboxSearchSql.ForgetNamedSql", Inbox.InboxSearchSql.ForgetNamedSql);
        foreach (var rows in Inbox.InboxSearchSql.NamedRowBlocks)
            yield return new($"InboxSearchSql.InsertNamedSql({rows})", Inbox.InboxSearchSql.InsertNamedSql(rows));
        foreach (var (withIns, locals) in new[] { (true, 0), (true, 2), (false, 1), (false, DossierStatements.MaxLocalIdentifiersInOneLookUp) })
            yield return new($"DossierStatements.PatientsByKeys({withIns}, {locals})", Dialect.DossierStatements.PatientsByKeys(withIns, locals));

        yield return new("HeldMessages.SupersedeDraftsAsync",
            "SELECT DISTINCT h.message_id FROM held_document h JOIN inbound_message m ON m.id = h.message_id WHERE "
            + Dialect.InList("h.document_key", "Keys") + " AND m.status = @Held AND h.message_id <> @Id ORDER BY h.message_id;");
    }

    /// <summary>Dapper's expansion of a list parameter: <c>IN @Ids</c> becomes <c>IN (@Ids1, @Ids2)</c>.</summary>
    internal static string ExpandLists(string sql) => ListParameter().Replace(sql, m => $"IN (@{m.Groups[1].Value}1, @{m.Groups[1].Value}2)");

    private static bool IsStatement(string text) => StatementStart().IsMatch(text.TrimStart());

    private static string Normalise(string sql) => Whitespace().Replace(sql, " ").Trim();

    private static string FindSourceRoot([CallerFilePath] string here = "")
    {
        for (var folder = Path.GetDirectoryName(here); folder is not null; folder = Path.GetDirectoryName(folder))
            if (File.Exists(Path.Combine(folder, "Dmp.Ingest.sln")))
                return folder;
        for (var folder = AppContext.BaseDirectory; folder is not null; folder = Path.GetDirectoryName(folder))
            if (File.Exists(Path.Combine(folder, "Dmp.Ingest.sln")))
                return folder;
        throw new InvalidOperationException("the repository root (Dmp.Ingest.sln) is not above the tests");
    }

    [GeneratedRegex(@"^(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|CREATE|ALTER|DECLARE|EXEC|IF)\b")]
    private static partial Regex StatementStart();

    [GeneratedRegex(@"(?<dollar>\$*)""""""[ \t]*\r?\n(?<body>.*?)\r?\n[ \t]*""""""", RegexOptions.Singleline)]
    private static partial Regex RawLiteral();

    [GeneratedRegex(@"(?<dollar>\$?)(?<!@)""(?<body>(?:[^""\\\n]|\\.)*)""")]
    private static partial Regex RegularLiteral();

    [GeneratedRegex(@"^\s*//.*$", RegexOptions.Multiline)]
    private static partial Regex CommentLine();

    [GeneratedRegex(@"(?:const\s+string|string|var)\s+(?<name>\w+)\s*=\s*$|(?<name>\w+)\s*=\s*$", RegexOptions.Singleline)]
    private static partial Regex ConstantName();

    [GeneratedRegex(@"(?<!\{)\{(?<expr>[^{}]+)\}(?!\})")]
    private static partial Regex Hole();

    [GeneratedRegex(@"^(?:dialect|connections|_connections|_dialect)\.(?<member>\w+)(?:\((?<args>.*)\))?$")]
    private static partial Regex DialectCall();

    [GeneratedRegex(@"""((?:[^""\\]|\\.)*)""")]
    private static partial Regex StringArgument();

    [GeneratedRegex(@"^[\w.]+$")]
    private static partial Regex ConstantPath();

    [GeneratedRegex(@"\bIN @(\w+)")]
    private static partial Regex ListParameter();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
