using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Dmp.Store;
using Dmp.Store.Inbox;

namespace Dmp.Bench.Store;

/// <summary>
/// `inbox-search --messages N --data DIR [--queries Q] [--seed S]`: fills a SQLite store (real schema, migrated by
/// DmpStore.OpenAsync) with synthetic inbound messages in steps of 10 k, 100 k, 1 M … up to N, and after each step times
/// the operators' search through <see cref="InboxQueries"/> (the code the API runs): Q random lookups per kind, first page
/// of 100. One patient per 20 messages on average (INS + IPP); types ADT 60 % (A01/A03/A04/A08), ORU^R01 25 %, MDM^T02
/// 10 % (each bringing a document: patient, document, document_source), SIU 5 %; 90 % processed, 7 % failed (still
/// naming their patient), 3 % ignored (naming nobody). Progress on stderr; one JSON line per step on stdout.
/// </summary>
public static class InboxSearchCommand
{
    private const string InsSystem = "1.2.250.1.213.1.4.10";
    private const string IppSystem = "CHU-X";
    private const int RowsPerTransaction = 100_000;
    private static readonly long[] Steps = [10_000, 100_000, 1_000_000, 10_000_000];

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var options = BenchArgs.Parse(args, stderr, "inbox-search --messages N --data DIR [--queries Q] [--seed S]", "--messages", "--data", "--queries", "--seed");
        if (options is null || !options.ContainsKey("--data"))
            return BenchArgs.Usage;
        var total = BenchArgs.Int(options, "--messages", 100_000);
        var queries = BenchArgs.Int(options, "--queries", 200);
        var random = new Random(BenchArgs.Int(options, "--seed", 11));
        var dataDir = options["--data"];
        Directory.CreateDirectory(dataDir);

        await using var store = await DmpStore.OpenAsync(new StoreOptions(), new BlobOptions(), dataDir, CancellationToken.None);
        var fill = Stopwatch.StartNew();
        long written = 0;
        foreach (var step in Steps.Where(s => s < total).Append(total))
        {
            await FillAsync(store, written, step, random, stderr);
            written = step;
            stderr.WriteLine($"inbox-search: {written} messages in {fill.Elapsed.TotalSeconds:0} s; timing");
            var patients = written / 20;
            var patientRows = 0.0;
            var timings = new Dictionary<string, IReadOnlyList<double>>(StringComparer.Ordinal)
            {
                ["patient_ins"] = await TimeAsync(queries, () => new InboxFilter { PatientValue = Ins(1 + random.NextInt64(patients)) }, store, r => patientRows = r),
                ["patient_ipp"] = await TimeAsync(queries, () => new InboxFilter { PatientSystem = IppSystem, PatientValue = Ipp(1 + random.NextInt64(patients)) }, store),
                ["patient_failed"] = await TimeAsync(queries, () => new InboxFilter { PatientValue = Ins(1 + random.NextInt64(patients)), Status = InboxStatus.Failed }, store),
                ["type_adt"] = await TimeAsync(queries, () => new InboxFilter { Type = "ADT" }, store),
                ["type_adt_a08"] = await TimeAsync(queries, () => new InboxFilter { Type = "ADT^A08" }, store),
                ["type_siu_failed"] = await TimeAsync(queries, () => new InboxFilter { Type = "SIU", Status = InboxStatus.Failed }, store),
                ["document"] = await TimeAsync(queries, () => new InboxFilter { Document = DocumentId(1 + random.NextInt64(written / 10)) }, store),
                ["stats_patient"] = await TimeStatsAsync(queries, () => new InboxFilter { PatientValue = Ins(1 + random.NextInt64(patients)) }, store),
            };
            var fields = timings.Select(t => string.Create(CultureInfo.InvariantCulture,
                $"\"{t.Key}_ms\":{{\"p50\":{BenchArgs.Percentile(t.Value, 50):0.###},\"p99\":{BenchArgs.Percentile(t.Value, 99):0.###}}}"));
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"messages\":{written},\"fill_seconds\":{fill.Elapsed.TotalSeconds:0.#},\"queries\":{queries},\"patient_ins_rows\":{patientRows:0.#},{string.Join(',', fields)}}}"));
        }

        return 0;
    }

    /// <summary>
    /// Fills an empty SQLite store with <paramref name="count"/> synthetic messages as the bench does (patients on INS
    /// 28…, IPP `CHU-X|IPP…`; no raw bytes): the console's scale test searches among them.
    /// </summary>
    public static Task SeedAsync(DmpStore store, long count, int seed, TextWriter progress) =>
        FillAsync(store, 0, count, new Random(seed), progress);

    private static string Ins(long patient) => (280000000000000L + patient).ToString(CultureInfo.InvariantCulture);

    private static string Ipp(long patient) => "IPP" + patient.ToString("D8", CultureInfo.InvariantCulture);

    private static string DocumentId(long n) => "1.2.250.1.999.1." + n.ToString(CultureInfo.InvariantCulture);

    private static async Task<IReadOnlyList<double>> TimeAsync(int count, Func<InboxFilter> next, DmpStore store, Action<double>? rowsPerQuery = null)
    {
        for (var i = 0; i < 20; i++)
            await store.Queries.ListAsync(next(), 100, null, CancellationToken.None);
        var times = new List<double>(count);
        long rows = 0;
        for (var i = 0; i < count; i++)
        {
            var filter = next();
            var clock = Stopwatch.StartNew();
            var page = await store.Queries.ListAsync(filter, 100, null, CancellationToken.None);
            times.Add(clock.Elapsed.TotalMilliseconds);
            rows += page.Items.Count;
        }

        rowsPerQuery?.Invoke((double)rows / Math.Max(1, count));
        times.Sort();
        return times;
    }

    private static async Task<IReadOnlyList<double>> TimeStatsAsync(int count, Func<InboxFilter> next, DmpStore store)
    {
        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var filter = next();
            var clock = Stopwatch.StartNew();
            await store.Queries.StatsAsync(filter, CancellationToken.None);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return times;
    }

    /// <summary>Messages <paramref name="from"/>+1 … <paramref name="to"/>, their patients as they first appear, in large transactions.</summary>
    private static async Task FillAsync(DmpStore store, long from, long to, Random random, TextWriter stderr)
    {
        var connection = await store.Connections.OpenAsync(CancellationToken.None);
        await using (connection)
        {
            await ExecAsync(connection, "PRAGMA cache_size = -262144; PRAGMA synchronous = OFF;");
            var start = DateTimeOffset.UtcNow.AddDays(-30);
            var messageCommand = Prepare(connection,
                "INSERT INTO inbound_message (id, channel, sender, control_id, message_type, sha256, length, status, received_at, last_received_at, receipts, ack_code)"
                + " VALUES (@Id, 'mllp', @Sender, @ControlId, @Type, @Sha, 900, @Status, @At, @At, 1, 'AA');",
                "Id", "Sender", "ControlId", "Type", "Sha", "Status", "At");
            var namedCommand = Prepare(connection, "INSERT INTO message_patient (value, system, message_id) VALUES (@Value, @System, @Id);", "Value", "System", "Id");
            var patientCommand = Prepare(connection,
                "INSERT OR IGNORE INTO patient (id, ins, ins_system, identity_status, created_at, updated_at) VALUES (@Id, @Ins, @System, 'VALI', @At, @At);",
                "Id", "Ins", "System", "At");
            var identifierCommand = Prepare(connection,
                "INSERT OR IGNORE INTO patient_identifier (system, value, patient_id, kind, created_at) VALUES (@System, @Value, @Id, @Kind, @At);",
                "System", "Value", "Id", "Kind", "At");
            var documentCommand = Prepare(connection,
                "INSERT INTO document (id, patient_id, unique_id, status, inbound_message_id, stored_at, updated_at) VALUES (@Id, @Patient, @UniqueId, 'current', @Message, @At, @At);",
                "Id", "Patient", "UniqueId", "Message", "At");
            var sourceCommand = Prepare(connection,
                "INSERT INTO document_source (document_id, inbound_message_id, sender, recorded_at) VALUES (@Id, @Message, @Sender, @At);",
                "Id", "Message", "Sender", "At");
            var nextDocument = from / 10 + 1;
            DbCommand[] commands = [messageCommand, namedCommand, patientCommand, identifierCommand, documentCommand, sourceCommand];
            var transaction = await connection.BeginTransactionAsync();
            foreach (var command in commands)
                command.Transaction = transaction;
            var sha = new byte[32];
            for (var id = from + 1; id <= to; id++)
            {
                var patient = 1 + random.NextInt64(Math.Max(1, id / 20 + 1));
                var roll = random.NextDouble();
                var (type, sender) = roll switch
                {
                    < 0.60 => ("ADT^" + (random.Next(4) switch { 0 => "A01", 1 => "A03", 2 => "A04", _ => "A08" }), "mllp/GAM|CHU-X"),
                    < 0.85 => ("ORU^R01", "mllp/SIL|LABO"),
                    < 0.95 => ("MDM^T02", "mllp/RIS|RADIO"),
                    _ => ("SIU^S12", "mllp/AGENDA|CHU-X"),
                };
                var statusRoll = random.NextDouble();
                var status = statusRoll < 0.90 ? InboxStatus.Processed : statusRoll < 0.97 ? InboxStatus.Failed : InboxStatus.Ignored;
                var at = StoreTime.Write(start.AddSeconds(id * 2.5));
                RandomNumberGenerator.Fill(sha);
                Bind(messageCommand, id, sender, "C" + id.ToString(CultureInfo.InvariantCulture), type, sha.ToArray(), status, at);
                await messageCommand.ExecuteNonQueryAsync();
                if (status == InboxStatus.Ignored)
                    continue;
                Bind(namedCommand, Ins(patient), InsSystem, id);
                await namedCommand.ExecuteNonQueryAsync();
                Bind(namedCommand, Ipp(patient), IppSystem, id);
                await namedCommand.ExecuteNonQueryAsync();
                Bind(patientCommand, patient, Ins(patient), InsSystem, at);
                await patientCommand.ExecuteNonQueryAsync();
                Bind(identifierCommand, InsSystem, Ins(patient), patient, "ins", at);
                await identifierCommand.ExecuteNonQueryAsync();
                Bind(identifierCommand, IppSystem, Ipp(patient), patient, "local", at);
                await identifierCommand.ExecuteNonQueryAsync();
                if (type == "MDM^T02" && status == InboxStatus.Processed)
                {
                    var document = nextDocument++;
                    Bind(documentCommand, document, patient, DocumentId(document), id, at);
                    await documentCommand.ExecuteNonQueryAsync();
                    Bind(sourceCommand, document, id, sender, at);
                    await sourceCommand.ExecuteNonQueryAsync();
                }

                if (id % RowsPerTransaction == 0)
                {
                    await transaction.CommitAsync();
                    await transaction.DisposeAsync();
                    transaction = await connection.BeginTransactionAsync();
                    foreach (var command in commands)
                        command.Transaction = transaction;
                    stderr.WriteLine($"inbox-search: {id} messages written");
                }
            }

            await transaction.CommitAsync();
            await transaction.DisposeAsync();
            foreach (var command in commands)
                await command.DisposeAsync();
            await ExecAsync(connection, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE; PRAGMA synchronous = FULL;");
        }
    }

    private static DbCommand Prepare(DbConnection connection, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in names)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static void Bind(DbCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i];
    }

    private static async Task ExecAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
