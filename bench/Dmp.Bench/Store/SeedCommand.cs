using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Dmp.Store;

namespace Dmp.Bench.Store;

/// <summary>
/// `seed --patients N --documents M [--inbox K] --data DIR [--seed S]`: fills a SQLite store with synthetic
/// dossiers through the real schema (DmpStore.OpenAsync migrates it), in large transactions. Last line JSON.
/// </summary>
public static class SeedCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var options = BenchArgs.Parse(args, stderr, "seed --patients N --documents M [--inbox K] --data DIR [--seed S]",
            "--patients", "--documents", "--inbox", "--data", "--seed");
        if (options is null || !options.ContainsKey("--data"))
            return BenchArgs.Usage;
        var plan = new SeedPlan(
            Patients: BenchArgs.Int(options, "--patients", 1000),
            Documents: BenchArgs.Int(options, "--documents", 10_000),
            Inbox: BenchArgs.Int(options, "--inbox", 0),
            RandomSeed: BenchArgs.Int(options, "--seed", 9));
        var result = await SeedStore.FillAsync(options["--data"], plan, stderr, CancellationToken.None);
        stdout.WriteLine(result.ToJson());
        return 0;
    }
}

/// <summary>How much to seed: patients with ~Documents/Patients documents each, and synthetic inbound messages.</summary>
public sealed record SeedPlan(int Patients, int Documents, int Inbox, int RandomSeed);

/// <summary>What was seeded, and how long it took.</summary>
public sealed record SeedResult(long Patients, long Documents, long Inbox, double Seconds, long DatabaseBytes)
{
    public string ToJson() => string.Create(CultureInfo.InvariantCulture,
        $$"""{"patients":{{Patients}},"documents":{{Documents}},"inbox":{{Inbox}},"seconds":{{Seconds:0.##}},"database_bytes":{{DatabaseBytes}}}""");
}

/// <summary>
/// The synthetic data: INS (NIR test OID) 2xxxxxxxxxxxxxx per patient, an open dossier (1 % closed) that
/// authorises one professional of the pool (so professional searches have a readable dossier), and documents of
/// the three CI-SIS types over five years, written by authors from a pool of RPPS; some masked, hidden from the
/// patient, superseded by the next version, or deleted. No bodies: blob_key stays NULL.
/// </summary>
public static class SeedStore
{
    public const string InsSystem = "1.2.250.1.213.1.4.10";
    public const int RppsPool = 2_000;
    private const int RowsPerTransaction = 50_000;

    public static readonly (string Code, string Display, double Share)[] Types =
    [
        ("11502-2", "CR d'examens biologiques", 0.5),
        ("11490-0", "Lettre de liaison a la sortie", 0.3),
        ("18748-4", "CR d'imagerie medicale", 0.2),
    ];

    private static readonly string[] Families = ["MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT", "SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID"];
    private static readonly string[] Givens = ["Marie", "Jean", "Pierre", "Michel", "Sophie", "Claire", "Louis", "Nathalie", "Paul", "Julie", "Luc", "Anne"];

    /// <summary>The INS of the n-th seeded patient (1-based).</summary>
    public static string Ins(long n) => (200000000000000L + n).ToString(CultureInfo.InvariantCulture);

    /// <summary>The RPPS of the k-th professional of the pool (0-based).</summary>
    public static string Rpps(int k) => (10000000000L + k).ToString(CultureInfo.InvariantCulture);

    /// <summary>The professional a seeded patient authorised.</summary>
    public static string AuthorisedRpps(long patient) => Rpps((int)(patient % RppsPool));

    public static async Task<SeedResult> FillAsync(string dataDir, SeedPlan plan, TextWriter progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await using var store = await DmpStore.OpenAsync(new StoreOptions(), new BlobOptions(), dataDir, cancellationToken);
        var connection = await store.Connections.OpenAsync(cancellationToken);
        await using (connection)
        {
            // A large page cache, so that a 50,000-row transaction does not spill pages to the WAL as it goes.
            await using (var cache = connection.CreateCommand())
            {
                cache.CommandText = "PRAGMA cache_size = -262144;";
                await cache.ExecuteNonQueryAsync(cancellationToken);
            }

            var random = new Random(plan.RandomSeed);
            var now = DateTimeOffset.UtcNow;
            var firstPatient = await MaxIdAsync(connection, "patient") + 1;
            var nextDocument = await MaxIdAsync(connection, "document") + 1;
            var batch = new Batch(connection);
            var perPatient = Math.Max(1.0, (double)plan.Documents / Math.Max(1, plan.Patients));
            long documents = 0;
            for (long p = firstPatient; p < firstPatient + plan.Patients; p++)
            {
                await batch.PatientAsync(p, random, now);
                // ~perPatient documents each (uniform 0 … 2×mean), the last patient taking what is left.
                var count = p == firstPatient + plan.Patients - 1
                    ? Math.Max(0, plan.Documents - documents)
                    : Math.Min(plan.Documents - documents, random.Next(0, (int)(2 * perPatient) + 1));
                nextDocument = await batch.DocumentsAsync(p, nextDocument, (int)count, random, now);
                documents += count;
                if (batch.Rows >= RowsPerTransaction)
                {
                    await batch.CommitAsync();
                    progress.WriteLine($"seed: {p - firstPatient + 1} patients, {documents} documents, {clock.Elapsed.TotalSeconds:0} s");
                }
            }

            var firstInbound = await MaxIdAsync(connection, "inbound_message") + 1;
            for (long i = 0; i < plan.Inbox; i++)
            {
                await batch.InboundAsync(firstInbound + i, plan.Inbox, random, now);
                if (batch.Rows >= RowsPerTransaction)
                {
                    await batch.CommitAsync();
                    progress.WriteLine($"seed: {i + 1} inbound messages, {clock.Elapsed.TotalSeconds:0} s");
                }
            }

            await batch.CommitAsync();
            await using var analyze = connection.CreateCommand();
            analyze.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;";
            await analyze.ExecuteNonQueryAsync(cancellationToken);
            var bytes = new DirectoryInfo(dataDir).EnumerateFiles("*.db*").Sum(f => f.Length);
            return new SeedResult(plan.Patients, documents, plan.Inbox, clock.Elapsed.TotalSeconds, bytes);
        }
    }

    private static async Task<long> MaxIdAsync(DbConnection connection, string table)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COALESCE(MAX(id), 0) FROM {table};";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Prepared inserts in one open transaction, committed every <see cref="RowsPerTransaction"/> rows.</summary>
    private sealed class Batch(DbConnection connection)
    {
        private readonly Dictionary<string, DbCommand> _commands = [];
        private DbTransaction? _transaction;

        public int Rows { get; private set; }

        public async Task PatientAsync(long id, Random random, DateTimeOffset now)
        {
            var at = StoreTime.Write(now.AddDays(-random.Next(1, 5 * 365)));
            var ins = Ins(id);
            await RunAsync(
                "INSERT INTO patient (id, ins, ins_system, identity_status, family, given, birth_name, birth_date, sex, created_at, updated_at) VALUES ($p0, $p1, $p2, 'VALI', $p3, $p4, $p3, $p5, $p6, $p7, $p7);",
                id, ins, InsSystem, Families[random.Next(Families.Length)], Givens[random.Next(Givens.Length)],
                new DateOnly(1930, 1, 1).AddDays(random.Next(0, 90 * 365)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                random.Next(2) == 0 ? "F" : "M", at);
            await RunAsync("INSERT INTO patient_identifier (system, value, patient_id, kind, created_at) VALUES ($p0, $p1, $p2, 'ins', $p3);",
                InsSystem, ins, id, at);
            await RunAsync("INSERT INTO dossier (patient_id, status, updated_at) VALUES ($p0, $p1, $p2);",
                id, random.Next(100) == 0 ? "closed" : "open", at);
            await RunAsync("INSERT INTO dossier_authorization (patient_id, rpps, granted_at) VALUES ($p0, $p1, $p2);",
                id, AuthorisedRpps(id), at);
        }

        /// <summary>A patient's documents, oldest first; 5 % are superseded by the next one (its new version), 1 % deleted.</summary>
        public async Task<long> DocumentsAsync(long patient, long firstId, int count, Random random, DateTimeOffset now)
        {
            var created = Enumerable.Range(0, count).Select(_ => now.AddMinutes(-random.Next(0, 5 * 365 * 24 * 60))).Order().ToArray();
            for (var j = 0; j < count; j++)
            {
                var id = firstId + j;
                var superseded = j + 1 < count && random.Next(100) < 5;
                var replacesPrevious = j > 0 && _supersededPrevious;
                _supersededPrevious = superseded;
                var status = superseded ? "superseded" : random.Next(100) == 0 ? "deleted" : "current";
                var roll = random.NextDouble();
                var type = roll < Types[0].Share ? Types[0] : roll < Types[0].Share + Types[1].Share ? Types[1] : Types[2];
                var author = random.Next(RppsPool);
                var at = created[j];
                var stored = StoreTime.Write(at.AddMinutes(random.Next(1, 600)));
                await RunAsync(
                    """
                    INSERT INTO document (id, patient_id, unique_id, status, replaces_id, replaced_by_id, type_code, type_system, type_display,
                        class_code, class_system, class_display, title, created_at, service_start, service_stop,
                        author_rpps, author_family, author_given, author_role, author_org, facility, confidentiality, language,
                        mime_type, format_code, size, sha256, masked, hidden_from_patient, stored_at, updated_at)
                    VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, 'http://loinc.org', $p7, '10', '1.2.250.1.213.1.1.4.1', 'Compte rendu', $p7,
                        $p8, $p9, $p8, $p10, $p11, $p12, 'D', $p13, $p14, 'N', 'fr-FR', 'text/xml', 'urn:asip:ci-sis:2010', $p15, $p16, $p17, $p18, $p19, $p19);
                    """,
                    id, patient, "1.2.250.1.213.1.1.9^bench-" + id.ToString(CultureInfo.InvariantCulture), status,
                    replacesPrevious ? id - 1 : null, null, type.Code, type.Display,
                    StoreTime.Write(at), StoreTime.Write(at.AddHours(-random.Next(1, 72))),
                    Rpps(author), Families[author % Families.Length], Givens[author % Givens.Length],
                    "1" + (750000000 + author % 300).ToString(CultureInfo.InvariantCulture), "SA07",
                    random.Next(2_000, 400_000), Convert.ToHexStringLower(RandomBytes(random)),
                    random.Next(100) < 3, random.Next(100) < 1, stored);
                // The superseded version names its replacement once that exists (foreign keys are checked per statement).
                if (replacesPrevious)
                    await RunAsync("UPDATE document SET replaced_by_id = $p0 WHERE id = $p1;", id, id - 1);
            }

            return firstId + count;
        }

        private bool _supersededPrevious;

        /// <summary>An inbound message already processed, its raw bytes purged by retention (the row and its hash stay).</summary>
        public async Task InboundAsync(long id, long total, Random random, DateTimeOffset now)
        {
            var at = StoreTime.Write(now.AddSeconds(-(total - id) * 3.0));
            var facility = random.Next(40);
            await RunAsync(
                """
                INSERT INTO inbound_message (id, channel, sender, control_id, message_type, sha256, length, status, received_at, last_received_at,
                    ack, ack_code, processed_at, raw_purged_at)
                VALUES ($p0, 'mllp', $p1, $p2, 'ORU^R01', $p3, $p4, 'processed', $p5, $p5, $p6, 'AA', $p5, $p5);
                """,
                id, "mllp/SEED-LAB|FAC-" + facility.ToString(CultureInfo.InvariantCulture), "seed-" + id.ToString(CultureInfo.InvariantCulture),
                RandomBytes(random), random.Next(1_500, 9_000), at, "MSH|^~\\&|GW|DMP|SEED-LAB|FAC|20260101||ACK|A|P|2.5\rMSA|AA|seed\r"u8.ToArray());
        }

        public async Task CommitAsync()
        {
            if (_transaction is null)
                return;
            await _transaction.CommitAsync();
            await _transaction.DisposeAsync();
            _transaction = null;
            Rows = 0;
        }

        private async Task RunAsync(string sql, params object?[] values)
        {
            if (_transaction is null)
            {
                _transaction = await connection.BeginTransactionAsync();
                foreach (var prepared in _commands.Values)
                    prepared.Transaction = _transaction;
            }

            if (!_commands.TryGetValue(sql, out var command))
            {
                command = connection.CreateCommand();
                command.CommandText = sql;
                command.Transaction = _transaction;
                for (var i = 0; i < values.Length; i++)
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = "$p" + i.ToString(CultureInfo.InvariantCulture);
                    command.Parameters.Add(parameter);
                }

                _commands[sql] = command;
            }

            for (var i = 0; i < values.Length; i++)
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            await command.ExecuteNonQueryAsync();
            Rows++;
        }

        private static byte[] RandomBytes(Random random)
        {
            var bytes = new byte[32];
            random.NextBytes(bytes);
            return bytes;
        }
    }
}
