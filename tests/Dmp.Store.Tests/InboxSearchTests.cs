using Dapper;
using Dmp.Model;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>
/// The operators' search (migration 0014): by patient identifier (named in PID-3 whatever the outcome, or fed to the
/// patient who has it now), by type, by document; counts per status, the replay selection, what a message produced,
/// the senders' traffic.
/// </summary>
public abstract class InboxSearchTests
{
    private const string Gam = "mllp/GAM|CHU-X", Lab = "mllp/LAB|LAB-Y";
    private const string Ins = "1.2.250.1.213.1.4.8";

    private protected abstract Task<TestStore> OpenStoreAsync();

    private sealed record Traffic(TestStore Store, long M1, long M2, long M3, long M4, long M5, long PatientId, long DocumentId, string EntryPublicId);

    /// <summary>
    /// M1 ADT^A01 processed, naming the INS and IPP A1 of patient P; M2 ADT^A08 failed, naming A1 only; M3 ORU^R01 processed,
    /// naming nobody but feeding P a document and an entry; M4 ADT^A01 failed, naming another patient's IPP B2; M5 ADT^A01
    /// failed, naming Z9, an IPP P took over in a merge. P's identifiers: the INS, A1, Z9.
    /// </summary>
    private static async Task<Traffic> TrafficAsync(TestStore t)
    {
        var m1 = (await t.AcceptAsync(Frames.Make(Gam, "M1", Frames.Hl7("M1"), Frames.T0))).Id;
        var m2 = (await t.AcceptAsync(Frames.Make(Gam, "M2", Frames.Hl7("M2"), Frames.T0.AddMinutes(1)) with { MessageType = "ADT^A08" })).Id;
        var m3 = (await t.AcceptAsync(Frames.Make(Lab, "M3", Frames.Hl7("M3"), Frames.T0.AddMinutes(2)) with { MessageType = "ORU^R01", SenderName = "lab" })).Id;
        var m4 = (await t.AcceptAsync(Frames.Make(Gam, "M4", Frames.Hl7("M4"), Frames.T0.AddMinutes(3)))).Id;
        var m5 = (await t.AcceptAsync(Frames.Make(Gam, "M5", Frames.Hl7("M5"), Frames.T0.AddMinutes(4)))).Id;
        var claimed = await t.Processing.ClaimAsync(10, CancellationToken.None);
        Assert.Equal(5, claimed.Count);
        await t.Processing.CompleteAsync(
        [
            new ProcessingResult(m1, InboxStatus.Processed) { NamedPatients = [new Identifier(Ins, "1234567890123"), new Identifier("CHU-X", "A1"), new Identifier("CHU-X", "A1")] },
            new ProcessingResult(m2, InboxStatus.Failed, Error: "PID-7 is not a date") { NamedPatients = [new Identifier("CHU-X", "A1")] },
            new ProcessingResult(m4, InboxStatus.Failed, Error: "no") { NamedPatients = [new Identifier("CHU-X", "B2")] },
            new ProcessingResult(m5, InboxStatus.Failed, Error: "no") { NamedPatients = [new Identifier("CHU-Y", "Z9")] },
        ], CancellationToken.None);
        await t.Processing.CompleteAsync([new ProcessingResult(m3, InboxStatus.Processed)], CancellationToken.None);

        await using var c = await t.Store.Connections.OpenAsync(CancellationToken.None);
        const string Now = "2025-03-14T09:30:00.0000000Z";
        await c.ExecuteAsync("INSERT INTO patient (ins, ins_system, created_at, updated_at) VALUES ('1234567890123', @Ins, @Now, @Now);", new { Ins, Now });
        var patient = await c.ExecuteScalarAsync<long>("SELECT id FROM patient WHERE ins = '1234567890123';");
        foreach (var (system, value, kind) in new[] { (Ins, "1234567890123", "ins"), ("CHU-X", "A1", "local"), ("CHU-Y", "Z9", "local") })
            await c.ExecuteAsync("INSERT INTO patient_identifier (system, value, patient_id, kind, created_at) VALUES (@System, @Value, @Patient, @Kind, @Now);",
                new { System = system, Value = value, Patient = patient, Kind = kind, Now });
        await c.ExecuteAsync(
            "INSERT INTO document (patient_id, unique_id, set_id, status, inbound_message_id, stored_at, updated_at) VALUES (@Patient, '1.2.3^doc1', '1.2.3^set1', 'current', @M3, @Now, @Now);",
            new { Patient = patient, M3 = m3, Now });
        var document = await c.ExecuteScalarAsync<long>("SELECT id FROM document WHERE unique_id = '1.2.3^doc1';");
        await c.ExecuteAsync("INSERT INTO document_source (document_id, inbound_message_id, sender, recorded_at) VALUES (@Document, @M3, @Lab, @Now);",
            new { Document = document, M3 = m3, Lab, Now });
        await c.ExecuteAsync(
            "INSERT INTO entry (patient_id, kind, fingerprint, resource, recorded_at, updated_at, public_id) VALUES (@Patient, 'Observation', 'f1', '{}', @Now, @Now, '0123456789abcdef0123456789abcdef');",
            new { Patient = patient, Now });
        var entry = await c.ExecuteScalarAsync<long>("SELECT id FROM entry WHERE fingerprint = 'f1';");
        await c.ExecuteAsync("INSERT INTO entry_source (entry_id, inbound_message_id, sender, recorded_at) VALUES (@Entry, @M3, @Lab, @Now);",
            new { Entry = entry, M3 = m3, Lab, Now });
        return new Traffic(t, m1, m2, m3, m4, m5, patient, document, "0123456789abcdef0123456789abcdef");
    }

    private static async Task<List<long>> ListAsync(TestStore t, InboxFilter filter) =>
        [.. (await t.Queries.ListAsync(filter, 100, null, CancellationToken.None)).Items.Select(m => m.Id)];

    [Fact]
    public async Task A_patient_search_finds_the_messages_that_named_any_of_their_identifiers_or_fed_them_and_no_others()
    {
        await using var t = await OpenStoreAsync();
        var x = await TrafficAsync(t);
        List<long> mine = [x.M5, x.M3, x.M2, x.M1];

        Assert.Equal(mine, await ListAsync(t, new InboxFilter { PatientValue = "1234567890123" }));
        Assert.Equal(mine, await ListAsync(t, new InboxFilter { PatientValue = "1234567890123", PatientSystem = Ins }));
        Assert.Equal(mine, await ListAsync(t, new InboxFilter { PatientValue = "A1", PatientSystem = "CHU-X" }));
        Assert.Equal([x.M4], await ListAsync(t, new InboxFilter { PatientValue = "B2" }));
        Assert.Empty(await ListAsync(t, new InboxFilter { PatientValue = "B2", PatientSystem = "CHU-Y" }));
        Assert.Empty(await ListAsync(t, new InboxFilter { PatientValue = "nobody" }));
        // Filters combine.
        Assert.Equal([x.M5, x.M2], await ListAsync(t, new InboxFilter { PatientValue = "A1", Status = InboxStatus.Failed }));
        Assert.Equal([x.M2, x.M1], await ListAsync(t, new InboxFilter { PatientValue = "A1", Until = Frames.T0.AddMinutes(2) }));
    }

    [Fact]
    public async Task Outcomes_completed_together_each_name_their_own_identifiers_whatever_their_count()
    {
        // Eleven messages in one completion (ids read and cleared by blocks of eight) naming 26 identifiers between them
        // (written by blocks of 16, 4 and 1 rows): each identifier finds its own message, and only it.
        await using var t = await OpenStoreAsync();
        var ids = new List<long>();
        for (var k = 0; k < 11; k++)
            ids.Add((await t.AcceptAsync(Frames.Make(Gam, $"N{k}", Frames.Hl7($"N{k}"), Frames.T0.AddMinutes(k)))).Id);
        Assert.Equal(11, (await t.Processing.ClaimAsync(20, CancellationToken.None)).Count);
        var results = ids.Select((id, k) => new ProcessingResult(id, InboxStatus.Processed)
        {
            NamedPatients = [.. Enumerable.Range(0, k % 4 + 1).Select(j => new Identifier($"SYS-{j}", $"P{k}-{j}"))],
        }).ToList();
        var final = await t.Processing.CompleteAsync(results, CancellationToken.None);

        Assert.Equal(ids, final.Select(r => r.Id));
        Assert.All(final, r => Assert.Equal(InboxStatus.Processed, r.Status));
        for (var k = 0; k < 11; k++)
        {
            for (var j = 0; j < k % 4 + 1; j++)
                Assert.Equal([ids[k]], await ListAsync(t, new InboxFilter { PatientValue = $"P{k}-{j}", PatientSystem = $"SYS-{j}" }));
            Assert.Empty(await ListAsync(t, new InboxFilter { PatientValue = $"P{k}-{k % 4 + 1}" }));
        }

        await using var c = await t.Store.Connections.OpenAsync(CancellationToken.None);
        Assert.Equal(26, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM message_patient;"));
        Assert.Equal(11, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbound_message WHERE status = 'processed' AND processed_at IS NOT NULL;"));
    }

    [Fact]
    public async Task A_replayed_message_names_what_its_new_outcome_names()
    {
        await using var t = await OpenStoreAsync();
        var x = await TrafficAsync(t);

        Assert.True(await t.Processing.RequeueForReplayAsync(x.M4, CancellationToken.None));
        Assert.Single(await t.Processing.ClaimAsync(10, CancellationToken.None));
        await t.Processing.CompleteAsync([new ProcessingResult(x.M4, InboxStatus.Failed, Error: "no") { NamedPatients = [new Identifier("CHU-X", "C3")] }], CancellationToken.None);

        Assert.Empty(await ListAsync(t, new InboxFilter { PatientValue = "B2" }));
        Assert.Equal([x.M4], await ListAsync(t, new InboxFilter { PatientValue = "C3" }));
    }

    [Fact]
    public async Task Type_matches_any_event_of_a_message_type_or_one_event_exactly_and_document_matches_unique_or_set_id()
    {
        await using var t = await OpenStoreAsync();
        var x = await TrafficAsync(t);

        Assert.Equal([x.M5, x.M4, x.M2, x.M1], await ListAsync(t, new InboxFilter { Type = "ADT" }));
        Assert.Equal([x.M5, x.M4, x.M1], await ListAsync(t, new InboxFilter { Type = "ADT^A01" }));
        Assert.Equal([x.M3], await ListAsync(t, new InboxFilter { Type = "ORU" }));
        Assert.Empty(await ListAsync(t, new InboxFilter { Type = "AD" }));
        Assert.Equal([x.M3], await ListAsync(t, new InboxFilter { Document = "1.2.3^doc1" }));
        Assert.Equal([x.M3], await ListAsync(t, new InboxFilter { Document = "1.2.3^set1" }));
        Assert.Empty(await ListAsync(t, new InboxFilter { Document = "1.2.3^doc1", Type = "ADT" }));
    }

    [Fact]
    public async Task Stats_count_the_selection_per_status_and_the_replay_selection_takes_replayable_messages_in_arrival_order()
    {
        await using var t = await OpenStoreAsync();
        var x = await TrafficAsync(t);
        await t.AcceptAsync(Frames.Make(Gam, "M6", Frames.Hl7("M6"), Frames.T0.AddMinutes(5)));

        var all = await t.Queries.StatsAsync(new InboxFilter(), CancellationToken.None);
        var mine = await t.Queries.StatsAsync(new InboxFilter { PatientValue = "A1" }, CancellationToken.None);

        Assert.Equal(6, all.Total);
        Assert.Equal(1, all.ByStatus[InboxStatus.Accepted]);
        Assert.Equal(3, all.ByStatus[InboxStatus.Failed]);
        Assert.Equal(2, mine.ByStatus[InboxStatus.Processed]);
        Assert.Equal(2, mine.ByStatus[InboxStatus.Failed]);
        Assert.Equal(0, mine.ByStatus[InboxStatus.Rejected]);
        Assert.Equal(5, await t.Queries.CountReplayableAsync(new InboxFilter(), CancellationToken.None)); // not the accepted one
        Assert.Equal([x.M2, x.M5], await t.Queries.ReplayableIdsAsync(new InboxFilter { PatientValue = "A1", Status = InboxStatus.Failed }, 10, CancellationToken.None));
        Assert.Equal([x.M1, x.M2], await t.Queries.ReplayableIdsAsync(new InboxFilter { PatientValue = "A1" }, 2, CancellationToken.None));
    }

    [Fact]
    public async Task A_message_lists_the_patients_documents_and_entries_it_fed()
    {
        await using var t = await OpenStoreAsync();
        var x = await TrafficAsync(t);

        var fed = await t.Queries.ProducedAsync(x.M3, CancellationToken.None);
        var named = await t.Queries.ProducedAsync(x.M1, CancellationToken.None);
        var failed = await t.Queries.ProducedAsync(x.M2, CancellationToken.None);

        Assert.Equal([x.PatientId], fed.Patients);
        Assert.Equal([new ProducedDocument(x.DocumentId, "1.2.3^doc1")], fed.Documents);
        Assert.Equal([new ProducedEntry("Observation", x.EntryPublicId)], fed.Entries);
        // With the patient, every identifier it is known by now (the keys the patient search takes).
        Assert.Equal(
            [new ProducedIdentifier(x.PatientId, "ins", Ins, "1234567890123"), new ProducedIdentifier(x.PatientId, "local", "CHU-X", "A1"), new ProducedIdentifier(x.PatientId, "local", "CHU-Y", "Z9")],
            fed.Identifiers);
        // A processed message that fed no document or entry (an ADT) fed the patient its identifiers name;
        // a failed one naming the same patient fed no one.
        Assert.Equal([x.PatientId], named.Patients);
        Assert.Empty(named.Documents);
        Assert.Empty(failed.Patients);
        Assert.Empty(failed.Identifiers);
    }

    [Fact]
    public async Task Senders_show_each_named_sender_or_channel_and_sender_with_counts_over_the_window_and_silent_configured_ones()
    {
        await using var t = await OpenStoreAsync();
        await TrafficAsync(t);

        var senders = await t.Queries.SendersAsync(Frames.T0.AddMinutes(-1), ["lab", "quiet"], CancellationToken.None);
        var later = await t.Queries.SendersAsync(Frames.T0.AddMinutes(3), ["lab"], CancellationToken.None);

        Assert.Equal(["lab", "quiet", null], senders.Select(s => s.Name));
        Assert.Equal(1, senders[0].ByStatus[InboxStatus.Processed]);
        Assert.Null(senders[1].LastReceivedAt);
        Assert.Equal(Gam, senders[2].Sender);
        Assert.Equal(3, senders[2].ByStatus[InboxStatus.Failed]);
        Assert.Equal(1, senders[2].ByStatus[InboxStatus.Processed]);
        Assert.Equal(Frames.T0.AddMinutes(4), senders[2].LastReceivedAt);
        // Out of the window the configured sender still shows its last message, with no counts.
        Assert.Equal(Frames.T0.AddMinutes(2), later.Single(s => s.Name == "lab").LastReceivedAt);
        Assert.Equal(0, later.Single(s => s.Name == "lab").ByStatus.Values.Sum());
        Assert.Equal(2, later.Single(s => s.Name is null).ByStatus[InboxStatus.Failed]);
    }
}

/// <summary>The search suite on SQLite.</summary>
public sealed class SqliteInboxSearchTests : InboxSearchTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();
}

/// <summary>The search suite on a real PostgreSQL server.</summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresInboxSearchTests(PostgresServer server) : InboxSearchTests
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
