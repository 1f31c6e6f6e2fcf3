using System.Collections.Concurrent;
using Dapper;
using Dmp.Store.Inbox;
using Npgsql;

namespace Dmp.Store.Tests;

/// <summary>
/// Two store instances (as two gateway processes) on one PostgreSQL database: a sender's messages
/// are processed by one instance at a time, in arrival order, each once; a dead instance's senders
/// go to the other.
/// </summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class SenderLeaseTests(PostgresServer server)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_instances_never_hold_one_sender_at_once_and_complete_each_message_once_in_order()
    {
        const int senders = 8, perSender = 40;
        await using var a = await TestStore.OpenAsync(await server.CreateDatabaseAsync());
        await using var b = await a.OpenSecondInstanceAsync();
        var ids = new Dictionary<string, List<long>>();
        for (var i = 0; i < perSender; i++)
        {
            var round = await Task.WhenAll(Enumerable.Range(0, senders).Select(s =>
                a.AcceptAsync(Frames.Make($"mllp/APP{s}|FAC", $"{s}-{i}", Frames.Hl7($"{s}-{i}")))));
            for (var s = 0; s < senders; s++)
                (ids.TryGetValue($"mllp/APP{s}|FAC", out var list) ? list : ids[$"mllp/APP{s}|FAC"] = []).Add(round[s].Id);
        }

        var owners = new ConcurrentDictionary<string, string>();
        var violations = new ConcurrentQueue<string>();
        var processed = new ConcurrentDictionary<string, List<long>>();
        var done = 0;
        using var timeout = new CancellationTokenSource(Patience);

        async Task<int> Work(string name, InboxProcessing processing)
        {
            var mine = 0;
            while (Volatile.Read(ref done) < senders * perSender)
            {
                timeout.Token.ThrowIfCancellationRequested();
                var batch = await processing.ClaimAsync(5, timeout.Token);
                if (batch.Count == 0)
                {
                    await Task.Delay(2, timeout.Token);
                    continue;
                }
                var held = batch.Select(m => m.Sender).Distinct().ToList();
                foreach (var sender in held)
                    if (!owners.TryAdd(sender, name))
                        violations.Enqueue($"{name} got {sender} while {owners.GetValueOrDefault(sender)} held it");
                foreach (var message in batch)
                {
                    var list = processed.GetOrAdd(message.Sender, _ => []);
                    lock (list)
                        list.Add(message.Id);
                    await Task.Delay(Random.Shared.Next(0, 3), timeout.Token);
                }
                // Let go before completing: the other instance may take the sender only after the commit.
                foreach (var sender in held)
                    owners.TryRemove(new KeyValuePair<string, string>(sender, name));
                await processing.CompleteAsync(batch.Select(m => new ProcessingResult(m.Id, InboxStatus.Processed)).ToList(), timeout.Token);
                Interlocked.Add(ref done, batch.Count);
                mine += batch.Count;
            }
            return mine;
        }

        var counts = await Task.WhenAll(Work("a", a.Processing), Work("b", b.Processing));

        Assert.Empty(violations);
        Assert.Equal(senders * perSender, counts.Sum());
        Assert.All(counts, c => Assert.True(c > 0, $"both instances should have taken part: {string.Join(", ", counts)}"));
        foreach (var (sender, expected) in ids)
            Assert.Equal(expected, processed[sender]); // each once, in arrival order
        await using var connection = new NpgsqlConnection(a.Options.ConnectionString);
        Assert.Equal((long)senders * perSender, await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM inbound_message WHERE status = 'processed'"));
        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM (SELECT message_id FROM inbound_message_history WHERE status = 'processed' GROUP BY message_id HAVING COUNT(*) <> 1) twice"));
    }

    [Fact]
    public async Task The_senders_of_an_instance_that_stops_without_completing_go_to_the_other()
    {
        await using var t = await TestStore.OpenAsync(await server.CreateDatabaseAsync());
        var first = new List<long>();
        for (var i = 0; i < 3; i++)
            first.Add((await t.AcceptAsync(Frames.Make("mllp/GAM|CHU-X", $"G{i}", Frames.Hl7($"G{i}")))).Id);
        var lab = (await t.AcceptAsync(Frames.Make("mllp/LAB|LAB-Y", "L0", Frames.Hl7("L0")))).Id;
        var doomed = await t.OpenSecondInstanceAsync();
        await using var survivor = await t.OpenSecondInstanceAsync();

        var claimed = await doomed.Processing.ClaimAsync(10, CancellationToken.None);
        Assert.Equal([.. first, lab], claimed.Select(m => m.Id));
        Assert.Empty(await survivor.Processing.ClaimAsync(10, CancellationToken.None));

        await doomed.DisposeAsync(); // no CompleteAsync: as a process that dies mid-batch

        var taken = await ClaimUntilAsync(survivor.Processing, 4);
        Assert.Equal([.. first, lab], taken.Select(m => m.Id));
    }

    [Fact]
    public async Task An_instance_whose_lease_session_died_records_nothing_and_the_other_processes_the_messages()
    {
        await using var a = await TestStore.OpenAsync(await server.CreateDatabaseAsync());
        await using var b = await a.OpenSecondInstanceAsync();
        var id = (await a.AcceptAsync(Frames.Make("mllp/GAM|CHU-X", "1", Frames.Hl7("1")))).Id;
        var claimed = await a.Processing.ClaimAsync(10, CancellationToken.None);
        Assert.Single(claimed);

        await using (var admin = new NpgsqlConnection(a.Options.ConnectionString))
        {
            // As a network cut or a server-side kill: the session holding a's leases ends.
            var killed = await admin.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dmp-ingest sender leases') k");
            Assert.Equal(1L, killed);
        }

        var taken = await ClaimUntilAsync(b.Processing, 1);
        Assert.Equal(id, taken[0].Id);
        await Assert.ThrowsAsync<SenderLeaseLostException>(() =>
            a.Processing.CompleteAsync([new ProcessingResult(id, InboxStatus.Failed, "late")], CancellationToken.None));
        Assert.Equal(InboxStatus.Accepted, (await a.Queries.GetAsync(id, CancellationToken.None))!.Message.Status);

        await b.Processing.CompleteAsync([new ProcessingResult(id, InboxStatus.Processed)], CancellationToken.None);
        var detail = (await a.Queries.GetAsync(id, CancellationToken.None))!;
        Assert.Equal(InboxStatus.Processed, detail.Message.Status);
        Assert.Equal([InboxStatus.Accepted, InboxStatus.Processed], detail.History.Select(h => h.Status));
    }

    [Fact]
    public void The_lease_key_of_a_sender_is_stable()
    {
        // Instances of different versions share leases only if they compute the same key: pinned.
        Assert.NotEqual(Sql.PostgresSenderLeases.KeyOf("mllp/GAM|CHU-X"), Sql.PostgresSenderLeases.KeyOf("mllp/GAM|CHU-Y"));
        Assert.Equal(4377025226698959893L, Sql.PostgresSenderLeases.KeyOf("mllp/GAM|CHU-X"));
    }

    private static async Task<IReadOnlyList<PendingMessage>> ClaimUntilAsync(InboxProcessing processing, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var claimed = await processing.ClaimAsync(10, CancellationToken.None);
            if (claimed.Count >= count)
                return claimed;
            Assert.True(claimed.Count == 0, $"claimed {claimed.Count} of {count}");
            Assert.True(DateTime.UtcNow < deadline, "the other instance's leases were never freed");
            await Task.Delay(100);
        }
    }
}
