using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Dapper;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Mapping.Fhir;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Store;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using F = Hl7.Fhir.Model;

namespace Dmp.Bench.Store;

/// <summary>
/// `search --data DIR [--count N] [--concurrency C] [--seed S]`: starts the gateway in-process on a seeded data folder
/// (HTTP on a free loopback port), runs N random DocumentReference searches through the HTTP API as patients and as
/// authorised professionals (each one audited, as in production), then the same searches straight through
/// <see cref="DossierQueries"/> (SQL only) and N audit appends alone. Query plan on stderr; last line JSON.
/// </summary>
public static class SearchCommand
{
    private const string SigningKey = "dmp-ingest-bench-signing-key-0123456789-abcdef";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var options = BenchArgs.Parse(args, stderr, "search --data DIR [--count N (2000)] [--concurrency C (1)] [--seed S]",
            "--data", "--count", "--concurrency", "--seed");
        if (options is null || !options.TryGetValue("--data", out var dataDir))
            return BenchArgs.Usage;
        var count = Math.Max(1, BenchArgs.Int(options, "--count", 2000));
        var concurrency = Math.Clamp(BenchArgs.Int(options, "--concurrency", 1), 1, 64);
        var random = new Random(BenchArgs.Int(options, "--seed", 17));

        await using var app = GatewayHost.Build(new Dictionary<string, string?>
        {
            ["Dmp:DataDir"] = dataDir,
            ["Dmp:Http:Port"] = "0",
            ["Dmp:Mllp:Enabled"] = "false",
            ["Dmp:Auth:SigningKey"] = SigningKey,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await app.StartAsync();
        var store = app.Services.GetRequiredService<DmpStore>();
        var http = app.Services.GetRequiredService<ListenerEndpoints>().HttpEndPoint!;
        var (first, last) = await PatientRangeAsync(store);
        if (last < first)
        {
            stderr.WriteLine($"search: no seeded patient in {dataDir}: run `seed` first");
            return 66;
        }

        var searches = Enumerable.Range(0, count + Warmup).Select(_ => Search.Random(random, first, last)).ToList();
        using var client = new HttpClient { BaseAddress = new Uri($"http://{http}"), Timeout = TimeSpan.FromSeconds(30) };
        var key = Encoding.UTF8.GetBytes(SigningKey);

        // HTTP: the whole request (token check, patient lookup, access policy, SQL, FHIR Bundle, audit commit).
        var auditBefore = store.Writer.Transactions;
        long denied = 0;
        var apiClock = Stopwatch.StartNew();
        var api = await TimeAllAsync(searches, concurrency, async (s, _) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, s.Url());
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s.Token(key));
            var started = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            // 403 is an answer too (1 % of dossiers are closed to professionals), audited like a success.
            if (response.StatusCode == System.Net.HttpStatusCode.Forbidden)
                Interlocked.Increment(ref denied);
            else if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"{s.Url()} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
            return elapsed;
        });
        var apiSeconds = apiClock.Elapsed.TotalSeconds;
        var commits = store.Writer.Transactions - auditBefore;

        // SQL only: the same searches through DossierQueries, without HTTP, access policy or audit: the document query
        // alone, then with the two queries the gate runs first (the patient by INS, the dossier's access facts).
        var queries = new DossierQueries(store.Connections);
        long rows = 0;
        var pages = new IReadOnlyList<DocumentRow>[searches.Count];
        var sql = await TimeAllAsync(searches, concurrency, async (s, i) =>
        {
            var started = Stopwatch.GetTimestamp();
            var page = await queries.SearchDocumentsAsync(s.Filter(), s.View(), new PageRequest(20), CancellationToken.None);
            Interlocked.Add(ref rows, page.Items.Count);
            pages[i] = page.Items;
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });
        var requestSql = await TimeAllAsync(searches, concurrency, async (s, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            var patient = await queries.FindPatientByIdentifierAsync(SeedStore.InsSystem, SeedStore.Ins(s.Patient), CancellationToken.None);
            await queries.GetDossierAsync(patient!.Id, s.Professional ? SeedStore.AuthorisedRpps(s.Patient) : null, null, CancellationToken.None);
            await queries.SearchDocumentsAsync(s.Filter(), s.View(), new PageRequest(20), CancellationToken.None);
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });
        var open = await TimeAllAsync(searches, concurrency, async (_, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            await (await store.Connections.OpenAsync(CancellationToken.None)).DisposeAsync();
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });

        // Rendering only: the page's DocumentReferences in a searchset Bundle, serialised as the API does.
        var render = await TimeAllAsync(searches, concurrency, (_, i) =>
        {
            var started = Stopwatch.GetTimestamp();
            var bundle = new F.Bundle { Type = F.Bundle.BundleType.Searchset };
            foreach (var row in pages[i] ?? [])
                bundle.Entry.Add(new F.Bundle.EntryComponent { Resource = DossierResources.DocumentReference(row, "http://bench/fhir/Binary/" + row.Id) });
            if (FhirJson.Serialize(bundle, pretty: false).Length == 0)
                throw new InvalidOperationException("empty Bundle JSON");
            return Task.FromResult(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        });

        // Audit only: one event appended and committed per call, as each search does.
        var audit = await TimeAllAsync(searches, concurrency, async (s, _) =>
        {
            var started = Stopwatch.GetTimestamp();
            await store.Audit.AppendAsync(new AuditRecord(s.Patient, "patient", SeedStore.Ins(s.Patient), "patient", "search", "DocumentReference", null, "success",
                Detail: "bench audit append"), CancellationToken.None);
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        });

        await PrintPlanAsync(store, queries, searches[0], stderr);
        await app.StopAsync();
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"searches":{{count}},"concurrency":{{concurrency}},"patients":{{last - first + 1}},"api_per_s":{{count / apiSeconds:0.#}},"api_p50_ms":{{P(api, 50)}},"api_p99_ms":{{P(api, 99)}},"api_max_ms":{{P(api, 100)}},"sql_p50_ms":{{P(sql, 50)}},"sql_p99_ms":{{P(sql, 99)}},"sql_max_ms":{{P(sql, 100)}},"sql_rows_per_search":{{(double)rows / (count + Warmup):0.##}},"request_sql_p50_ms":{{P(requestSql, 50)}},"request_sql_p99_ms":{{P(requestSql, 99)}},"open_p50_ms":{{P(open, 50)}},"open_p99_ms":{{P(open, 99)}},"render_p50_ms":{{P(render, 50)}},"render_p99_ms":{{P(render, 99)}},"audit_p50_ms":{{P(audit, 50)}},"audit_p99_ms":{{P(audit, 99)}},"audit_max_ms":{{P(audit, 100)}},"api_denied":{{denied}},"api_commits":{{commits}}}"""));
        return 0;
    }

    private const int Warmup = 200;

    private static string P(List<double> sorted, double p) => BenchArgs.Percentile(sorted, p).ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Runs the work for every search with <paramref name="concurrency"/> in flight; the first <see cref="Warmup"/> are not kept.</summary>
    private static async Task<List<double>> TimeAllAsync(IReadOnlyList<Search> searches, int concurrency, Func<Search, int, Task<double>> work)
    {
        var times = new double[searches.Count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < searches.Count; i = Interlocked.Increment(ref next))
                times[i] = await work(searches[i], i);
        })));
        var kept = times.Skip(Warmup).ToList();
        kept.Sort();
        return kept;
    }

    private static async Task<(long First, long Last)> PatientRangeAsync(DmpStore store)
    {
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        var range = await connection.QuerySingleAsync<(long?, long?)>(
            "SELECT MIN(id), MAX(id) FROM patient WHERE ins_system = @System;", new { System = SeedStore.InsSystem });
        return (range.Item1 ?? 1, range.Item2 ?? 0);
    }

    private static async Task PrintPlanAsync(DmpStore store, DossierQueries queries, Search search, TextWriter stderr)
    {
        foreach (var s in new[] { search with { Kind = 0 }, search with { Kind = 1 }, search with { Kind = 2 } })
        {
            var (text, parameters) = queries.DocumentSearch(s.Filter(), s.View(), new PageRequest(20));
            await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
            var plan = await connection.QueryAsync<(long, long, long, string)>("EXPLAIN QUERY PLAN " + text, parameters);
            stderr.WriteLine($"plan ({s.Describe()}): " + string.Join(" | ", plan.Select(p => p.Item4)));
        }
    }

    /// <summary>
    /// One random search: a patient (their own dossier) or the professional they authorised; all current documents,
    /// of one type, or since a date.
    /// </summary>
    private sealed record Search(long Patient, bool Professional, int Kind, DateTimeOffset Since)
    {
        private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

        public static Search Random(Random random, long first, long last) =>
            new(random.NextInt64(first, last + 1), random.Next(10) < 4, random.Next(4) switch { 0 => 1, 1 => 2, _ => 0 },
                Now.AddDays(-random.Next(30, 3 * 365)));

        public string Describe() => Kind switch { 1 => "type", 2 => "date", _ => "all" } + (Professional ? ", professional" : ", patient");

        public string Url()
        {
            var url = $"/fhir/DocumentReference?patient.identifier=urn:oid:{SeedStore.InsSystem}%7C{SeedStore.Ins(Patient)}";
            return Kind switch
            {
                1 => url + "&type=http://loinc.org%7C11502-2",
                2 => url + "&date=ge" + Since.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                _ => url,
            };
        }

        public string Token(byte[] key) => Professional
            ? TokenIssuer.Issue(key, "dmp-ingest", DmpClaims.Professional, null, SeedStore.AuthorisedRpps(Patient), null, TimeSpan.FromHours(1))
            : TokenIssuer.Issue(key, "dmp-ingest", DmpClaims.Patient, SeedStore.Ins(Patient), null, null, TimeSpan.FromHours(1));

        public DocumentFilter Filter() => new()
        {
            PatientId = Patient,
            Types = Kind == 1 ? [[new CodeMatch("11502-2", ["http://loinc.org"])]] : [],
            Date = Kind == 2 ? [new TimeBound(TimeComparison.NotBefore, Since.Date)] : [],
        };

        public CallerView View() => Professional
            ? new CallerView { MaskedAuthorRpps = SeedStore.AuthorisedRpps(Patient), Now = Now }
            : new CallerView { IncludeMasked = true, PatientView = true, HiddenStoredBefore = Now.AddDays(-30), Now = Now };
    }
}
