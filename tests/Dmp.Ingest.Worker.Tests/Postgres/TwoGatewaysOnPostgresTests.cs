using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store.Tests;
using Npgsql;

namespace Dmp.Ingest.Worker.Tests.Postgres;

/// <summary>Two real gateway processes on one PostgreSQL database, as a scaled-out deployment runs them.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed partial class TwoGatewaysOnPostgresTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task The_same_messages_sent_to_both_gateways_are_acked_by_both_stored_once_and_processed_once_in_order()
    {
        const int senders = 4, perSender = 50;
        var connectionString = await server.CreateDatabaseAsync();
        var root = Directory.CreateTempSubdirectory("dmp-two-gw-");
        try
        {
            var settings = Settings(connectionString, root);
            await using var a = await GatewayProcess.StartAsync(Directory.CreateDirectory(Path.Combine(root.FullName, "a")).FullName, settings);
            await using var b = await GatewayProcess.StartAsync(Directory.CreateDirectory(Path.Combine(root.FullName, "b")).FullName, settings);

            // Every sender sends its messages in order to both gateways at once, as a sender that fails over and resends.
            var sends = new List<Task<List<(string Id, Hl7Samples.Answer Ack)>>>();
            foreach (var gateway in new[] { a, b })
                for (var s = 0; s < senders; s++)
                    sends.Add(SendAllAsync(gateway, s, perSender));
            var answers = (await Task.WhenAll(sends)).SelectMany(x => x).ToList();

            Assert.Equal(2 * senders * perSender, answers.Count);
            Assert.All(answers, x => Assert.Equal(("AA", x.Id), (x.Ack.Code, x.Ack.ControlId)));

            await using var connection = new NpgsqlConnection(connectionString);
            await WaitAllProcessedAsync(connection, senders * perSender, a, b);

            var rows = (await connection.QueryAsync<(string ControlId, long Rows, long Receipts)>(
                "SELECT control_id, COUNT(*), SUM(receipts) FROM inbound_message GROUP BY control_id")).ToList();
            Assert.Equal(senders * perSender, rows.Count);
            Assert.All(rows, r => Assert.Equal((1L, 2L), (r.Rows, r.Receipts)));
            // One processing outcome per message (a resend after processing adds a 'processed' line too, with detail 'resent').
            Assert.Equal(0L, await connection.ExecuteScalarAsync<long>(
                """
                SELECT COUNT(*) FROM (
                    SELECT m.id FROM inbound_message m
                    LEFT JOIN inbound_message_history h ON h.message_id = m.id AND h.status = 'processed' AND h.detail <> 'resent'
                    GROUP BY m.id HAVING COUNT(h.id) <> 1) not_once
                """));

            // Per sender, the outcomes were committed in arrival order (history ids are given at commit time, leases serialise a sender).
            var outOfOrder = await connection.ExecuteScalarAsync<long>(
                """
                SELECT COUNT(*) FROM (
                    SELECT m.sender, m.id, h.id AS history_id,
                           LAG(h.id) OVER (PARTITION BY m.sender ORDER BY m.id) AS previous_history_id
                    FROM inbound_message m
                    JOIN inbound_message_history h ON h.message_id = m.id AND h.status = 'processed' AND h.detail <> 'resent'
                ) x WHERE history_id < previous_history_id
                """);
            Assert.Equal(0L, outOfOrder);

            Assert.Equal(0, await a.StopAsync());
            Assert.Equal(0, await b.StopAsync());
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Two_gateways_sharing_a_drop_folder_take_each_file_once()
    {
        const int files = 24;
        var connectionString = await server.CreateDatabaseAsync();
        var root = Directory.CreateTempSubdirectory("dmp-two-drop-");
        try
        {
            var drop = Directory.CreateDirectory(Path.Combine(root.FullName, "drop")).FullName;
            string[] settings =
            [
                .. Settings(connectionString, root),
                "--Dmp:Sftp:Sources:0:Name=drop",
                "--Dmp:Sftp:Sources:0:Kind=Folder",
                $"--Dmp:Sftp:Sources:0:Path={drop}",
                "--Dmp:Sftp:Sources:0:PollSeconds=1",
                "--Dmp:Sftp:Sources:0:StableBy=DoneMarker",
                "--Dmp:Sftp:Sources:0:AfterIngest=Delete",
            ];
            await using var a = await GatewayProcess.StartAsync(Directory.CreateDirectory(Path.Combine(root.FullName, "a")).FullName, settings);
            await using var b = await GatewayProcess.StartAsync(Directory.CreateDirectory(Path.Combine(root.FullName, "b")).FullName, settings);

            for (var i = 0; i < files; i++)
            {
                var name = Path.Combine(drop, $"adt-{i:D2}.hl7");
                await File.WriteAllBytesAsync(name, Hl7Samples.Adt($"DROP-{i:D2}"));
                await File.WriteAllTextAsync(name + ".done", "");
                if (i % 6 == 5)
                    await Task.Delay(700); // spread the files over several polls, so both instances get the job
            }

            var deadline = DateTime.UtcNow + Patience;
            while (Directory.EnumerateFiles(drop).Any())
            {
                Assert.True(DateTime.UtcNow < deadline, "the drop folder was not emptied:\n" + string.Join('\n', a.Lines.Concat(b.Lines)));
                await Task.Delay(200);
            }

            await using var connection = new NpgsqlConnection(connectionString);
            var rows = (await connection.QueryAsync<(string FileName, long Receipts)>(
                "SELECT file_name, receipts FROM inbound_message WHERE channel = 'drop'")).ToList();
            Assert.Equal(files, rows.Count);
            Assert.All(rows, r => Assert.Equal(1L, r.Receipts)); // no file was read by both
            Assert.Equal(2L, await connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM qrtz_scheduler_state WHERE sched_name = 'dmp-file-sources'"));

            Assert.Equal(0, await a.StopAsync());
            Assert.Equal(0, await b.StopAsync());
            var taken = a.Lines.Concat(b.Lines).Select(l => TakenLine().Match(l)).Where(m => m.Success).Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(files, taken);
            Assert.All(a.Lines.Concat(b.Lines).Select(l => LeftInPlace().Match(l)).Where(m => m.Success), m => Assert.Equal("0", m.Groups[1].Value));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            root.Delete(recursive: true);
        }
    }

    private static string[] Settings(string connectionString, DirectoryInfo root) =>
    [
        "--Dmp:Store:Provider=Postgres",
        $"--Dmp:Store:ConnectionString={connectionString}",
        // Instances of one deployment share their blobs (Azure in production; one folder here).
        $"--Dmp:Blobs:Path={Path.Combine(root.FullName, "blobs")}",
        "--Dmp:Rules:ReloadSeconds=0",
    ];

    private static async Task<List<(string Id, Hl7Samples.Answer Ack)>> SendAllAsync(GatewayProcess gateway, int sender, int count)
    {
        var answers = new List<(string, Hl7Samples.Answer)>(count);
        await using var client = await MllpTestClient.ConnectAsync(gateway.Mllp);
        for (var i = 0; i < count; i++)
        {
            var id = $"TWO-{sender}-{i:D3}";
            var message = Encoding.ASCII.GetString(Hl7Samples.Adt(id)).Replace("|APP|FAC|", $"|APP{sender}|FAC|", StringComparison.Ordinal);
            answers.Add((id, Hl7Samples.ReadAck(await client.SendAsync(Encoding.ASCII.GetBytes(message)))));
        }
        return answers;
    }

    private static async Task WaitAllProcessedAsync(NpgsqlConnection connection, int expected, GatewayProcess a, GatewayProcess b)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var statuses = (await connection.QueryAsync<(string Status, long Count)>(
                "SELECT status, COUNT(*) FROM inbound_message GROUP BY status")).ToList();
            if (statuses is [("processed", var n)] && n == expected)
                return;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not every message was processed: {string.Join(", ", statuses)}\n" + string.Join('\n', a.Lines.Concat(b.Lines)));
            await Task.Delay(200);
        }
    }

    [GeneratedRegex(@"File source drop: (\d+) file\(s\) taken")]
    private static partial Regex TakenLine();

    [GeneratedRegex(@"File source drop: .* (\d+) left in place")]
    private static partial Regex LeftInPlace();
}
