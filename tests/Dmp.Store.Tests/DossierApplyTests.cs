using System.Text;
using Dapper;
using Dmp.Model;
using Dmp.Model.Apply;
using Dmp.Store.Dossier;
using Dmp.Store.Inbox;

namespace Dmp.Store.Tests;

/// <summary>
/// Applying mapped messages to the dossier, in the transaction that records their status: patients by INS then local
/// identifier, documents with versions and sources, entries deduplicated by fingerprint, merges, and the gates
/// (qualified identity, opposition to feeding, DESTDMP). Runs against every provider.
/// </summary>
public abstract class DossierApplyTests
{
    private const string Ins1 = "279035121518989";
    private const string Ins2 = "274075176079430";
    private const string Mllp = "mllp/GAM|CHU-X";
    private static readonly DateTimeOffset T1 = new(2024, 3, 6, 11, 11, 54, TimeSpan.Zero);
    private static readonly DateTimeOffset T2 = T1.AddDays(3);
    private int _controlIds;

    private protected abstract Task<TestStore> OpenStoreAsync();

    [Fact]
    public async Task Applying_the_same_message_twice_changes_nothing_but_its_history()
    {
        await using var t = await OpenStoreAsync();
        var message = Oru(Qualified(), Doc("1.2.250.1.213.1.1.1.55.2024.9.1"), allergy: Allergy("J45"));
        var id = await AcceptAsync(t);

        Assert.Equal(InboxStatus.Processed, (await CompleteAsync(t, id, message)).Status);
        var before = await SnapshotAsync(t);
        Assert.Equal(InboxStatus.Processed, (await CompleteAsync(t, id, message)).Status);

        Assert.Equal(before, await SnapshotAsync(t));
        Assert.Equal((1L, 1L, 1L, 1L, 1L), (await CountAsync(t, "patient"), await CountAsync(t, "document"), await CountAsync(t, "document_source"),
            await CountAsync(t, "entry"), await CountAsync(t, "entry_source")));
        Assert.Equal(3L, await ScalarAsync(t, $"SELECT COUNT(*) FROM inbound_message_history WHERE message_id = {id}"));
    }

    [Fact]
    public async Task The_same_document_from_two_channels_is_one_document_with_two_sources()
    {
        await using var t = await OpenStoreAsync();
        var byMllp = await AcceptAsync(t, Mllp);
        var byFile = await AcceptAsync(t, "sftp-lab");

        await CompleteAsync(t, byMllp, Oru(Qualified(), Doc("1.2.3.4.1")));
        var result = await CompleteAsync(t, byFile, Oru(Qualified(), Doc("1.2.3.4.1")));

        Assert.Equal(InboxStatus.Processed, result.Status);
        Assert.Equal(1L, await CountAsync(t, "document"));
        Assert.Equal(["mllp/GAM|CHU-X", "sftp-lab"],
            (await QueryAsync<string>(t, "SELECT sender FROM document_source ORDER BY sender")).ToArray());
        Assert.Equal(byMllp, await ScalarAsync(t, "SELECT inbound_message_id FROM document"));
    }

    [Fact]
    public async Task A_newer_version_supersedes_its_parent_and_a_late_older_version_is_stored_superseded()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.9.1", set: "1.2.3.9", version: 1)));
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(),
            Doc("1.2.3.9.2", set: "1.2.3.9", version: 2, action: DocumentAction.Replace, replaces: "1.2.3.9.1")));
        // Version 4 first, then version 3 arrives late.
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.9.4", set: "1.2.3.9", version: 4)));
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.9.3", set: "1.2.3.9", version: 3)));

        var rows = (await QueryAsync<(string Uid, string Status, long? Replaces, long? ReplacedBy, long Id)>(t,
            "SELECT unique_id, status, replaces_id, replaced_by_id, id FROM document ORDER BY version")).ToList();
        var id = rows.ToDictionary(r => r.Uid, r => r.Id);
        Assert.Equal(("superseded", (long?)id["1.2.3.9.2"]), (rows[0].Status, rows[0].ReplacedBy));
        Assert.Equal(("superseded", (long?)id["1.2.3.9.1"], (long?)id["1.2.3.9.4"]), (rows[1].Status, rows[1].Replaces, rows[1].ReplacedBy));
        Assert.Equal(("superseded", (long?)id["1.2.3.9.4"]), (rows[2].Status, rows[2].ReplacedBy));
        Assert.Equal(("current", (long?)null), (rows[3].Status, rows[3].ReplacedBy));
        Assert.Equal(1L, await ScalarAsync(t, "SELECT COUNT(*) FROM document WHERE status = 'current'"));
    }

    [Fact]
    public async Task A_parent_arriving_after_the_replacement_that_names_it_is_stored_superseded()
    {
        await using var t = await OpenStoreAsync();
        // No setId, as in some official CI-SIS replacement examples: the link is the RPLC parent id alone.
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.12.2", action: DocumentAction.Replace, replaces: "1.2.3.12.1")));
        Assert.Equal("current", await TextAsync(t, "SELECT status FROM document WHERE unique_id = '1.2.3.12.2'"));

        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.12.1")));

        var parent = await ScalarAsync(t, "SELECT id FROM document WHERE unique_id = '1.2.3.12.1'");
        var child = await ScalarAsync(t, "SELECT id FROM document WHERE unique_id = '1.2.3.12.2'");
        Assert.Equal(("superseded", child), (await TextAsync(t, $"SELECT status FROM document WHERE id = {parent}"), await ScalarAsync(t, $"SELECT replaced_by_id FROM document WHERE id = {parent}")));
        Assert.Equal(("current", parent), (await TextAsync(t, $"SELECT status FROM document WHERE id = {child}"), await ScalarAsync(t, $"SELECT replaces_id FROM document WHERE id = {child}")));
    }

    [Fact]
    public async Task A_confidentiality_change_masks_the_stored_document_once()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.13.1")));
        var change = Doc("1.2.3.13.1") with
        {
            Visibility = new DocumentVisibility { ChangesConfidentiality = true, MaskedToProfessionals = true, HiddenFromPatient = false },
        };
        var id = await AcceptAsync(t);

        await CompleteAsync(t, id, Oru(Qualified(), change));
        await CompleteAsync(t, id, Oru(Qualified(), change));

        Assert.Equal((1L, 0L), (await ScalarAsync(t, "SELECT CASE WHEN masked THEN 1 ELSE 0 END FROM document"),
            await ScalarAsync(t, "SELECT CASE WHEN hidden_from_patient THEN 1 ELSE 0 END FROM document")));
        Assert.Equal(["deposit", "mask"], (await QueryAsync<string>(t, "SELECT action FROM audit_event ORDER BY id")).ToArray());
        Assert.Equal((1L, 2L), (await CountAsync(t, "document"), await CountAsync(t, "document_source")));
    }

    [Fact]
    public async Task A_delete_marks_the_named_document_deleted()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.5.1")));

        var result = await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.5.1", action: DocumentAction.Delete)));

        Assert.Equal(InboxStatus.Processed, result.Status);
        Assert.Equal("deleted", await TextAsync(t, "SELECT status FROM document"));
        Assert.Equal(1L, await CountAsync(t, "document"));
        Assert.Equal(["deposit", "delete"], (await QueryAsync<string>(t, "SELECT action FROM audit_event ORDER BY id")).ToArray());
    }

    [Fact]
    public async Task The_same_entry_from_two_sources_is_one_entry_with_two_provenances_and_the_newer_resource()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), allergy: Allergy("J45"), resource: "{\"v\":1}"), T1);
        await CompleteAsync(t, await AcceptAsync(t, "sftp-lab"), Oru(Qualified(), allergy: Allergy("J45"), resource: "{\"v\":2}"), T2);
        await CompleteAsync(t, await AcceptAsync(t, "mllp/OTHER|CHU-Y"), Oru(Qualified(), allergy: Allergy("J45"), resource: "{\"v\":0}"), T1.AddDays(-1));

        Assert.Equal(1L, await CountAsync(t, "entry"));
        Assert.Equal(3L, await CountAsync(t, "entry_source"));
        // The newest source's JSON, carrying the entry's public id.
        var stored = System.Text.Json.Nodes.JsonNode.Parse((await TextAsync(t, "SELECT resource FROM entry"))!)!;
        Assert.Equal((2, await TextAsync(t, "SELECT public_id FROM entry")), ((int)stored["v"]!, (string?)stored["id"]));
        Assert.Equal(("AllergyIntolerance", "J45"), (await TextAsync(t, "SELECT kind FROM entry"), await TextAsync(t, "SELECT code FROM entry")));
    }

    [Fact]
    public async Task An_entry_keeps_its_random_public_id_across_sources_and_another_patients_same_entry_has_its_own()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), allergy: Allergy("J45"), resource: "{\"id\":\"plan-1\",\"v\":1}"), T1);
        var first = await TextAsync(t, "SELECT public_id FROM entry");
        await CompleteAsync(t, await AcceptAsync(t, "sftp-lab"), Oru(Qualified(), allergy: Allergy("J45"), resource: "{\"id\":\"plan-1\",\"v\":2}"), T2);
        await CompleteAsync(t, await AcceptAsync(t, "mllp/OTHER|CHU-Y"), Oru(Qualified(), allergy: Allergy("J45"), resource: "{\"id\":\"plan-1\",\"v\":0}"), T1.AddDays(-1));
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(ins: Ins2, ipp: "000099"), allergy: Allergy("J45"), resource: "{\"id\":\"plan-1\",\"v\":1}"), T1);

        var rows = (await QueryAsync<(string Ins, string PublicId, string Fingerprint, string Resource)>(t,
            "SELECT p.ins, e.public_id, e.fingerprint, e.resource FROM entry e JOIN patient p ON p.id = e.patient_id ORDER BY e.id")).ToList();
        Assert.Equal([Ins1, Ins2], rows.Select(r => r.Ins));
        Assert.Equal(first, rows[0].PublicId);
        Assert.Matches("^[0-9a-f]{32}$", rows[0].PublicId);
        Assert.Matches("^[0-9a-f]{32}$", rows[1].PublicId);
        Assert.NotEqual(rows[0].PublicId, rows[1].PublicId);
        Assert.Equal(rows[0].Fingerprint, rows[1].Fingerprint);
        Assert.All(rows, r => Assert.Equal(r.PublicId, (string?)System.Text.Json.Nodes.JsonNode.Parse(r.Resource)!["id"]));
        Assert.DoesNotContain(rows, r => r.Resource.Contains("plan-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_report_names_its_results_by_their_public_ids_and_keeps_no_reference_to_a_plan_id_it_cannot_place()
    {
        await using var t = await OpenStoreAsync();
        var message = Oru(Qualified());
        var plan = new ApplyPlan([MessagePlan.Of(message, T1, [],
        [
            Entry("Observation", "obs", """{"resourceType":"Observation","id":"plan-obs","code":{"text":"Glycémie à jeun"}}"""),
            Entry("DiagnosticReport", "rep", """{"resourceType":"DiagnosticReport","id":"plan-rep","result":[{"reference":"Observation/plan-obs"},{"reference":"Observation/plan-gone"}],"performer":[{"reference":"#author"}]}"""),
        ])]);

        await t.Processing.CompleteAsync([new ProcessingResult(await AcceptAsync(t), InboxStatus.Processed, Apply: plan)], CancellationToken.None);

        var observation = await TextAsync(t, "SELECT public_id FROM entry WHERE kind = 'Observation'");
        var report = System.Text.Json.Nodes.JsonNode.Parse((await TextAsync(t, "SELECT resource FROM entry WHERE kind = 'DiagnosticReport'"))!)!;
        Assert.Equal($$"""[{"reference":"Observation/{{observation}}"}]""", report["result"]!.ToJsonString());
        Assert.Equal("#author", (string?)report["performer"]![0]!["reference"]);
        Assert.Equal(await TextAsync(t, "SELECT public_id FROM entry WHERE kind = 'DiagnosticReport'"), (string?)report["id"]);
        // The text is stored as written, not escaped.
        Assert.Contains("\"Glycémie à jeun\"", await TextAsync(t, "SELECT resource FROM entry WHERE kind = 'Observation'"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_entry_of_a_long_message_gets_its_source_once_and_a_second_apply_adds_none()
    {
        // 24 planned entries, one of them twice (23 distinct): their sources are written by blocks of 16, 4, 2 and 1 rows.
        await using var t = await OpenStoreAsync();
        var entries = Enumerable.Range(0, 23)
            .Select(i => Entry("Observation", $"obs-{i}", $$"""{"resourceType":"Observation","id":"plan-{{i}}"}"""))
            .Append(Entry("Observation", "obs-7", """{"resourceType":"Observation","id":"plan-7"}"""))
            .ToArray();
        var plan = new ApplyPlan([MessagePlan.Of(Oru(Qualified()), T1, [], entries)]);
        var first = await AcceptAsync(t);
        Assert.Equal(InboxStatus.Processed, Assert.Single(await t.Processing.CompleteAsync(
            [new ProcessingResult(first, InboxStatus.Processed, Apply: plan)], CancellationToken.None)).Status);

        Assert.Equal(23L, await CountAsync(t, "entry"));
        Assert.Equal(23L, await ScalarAsync(t, $"SELECT COUNT(*) FROM entry_source WHERE inbound_message_id = {first}"));
        Assert.Equal(0L, await ScalarAsync(t, "SELECT COUNT(*) FROM entry e WHERE NOT EXISTS (SELECT 1 FROM entry_source s WHERE s.entry_id = e.id)"));

        // The same message applied again, and another message with the same entries: one more source each, for the other only.
        Assert.Equal(InboxStatus.Processed, Assert.Single(await t.Processing.CompleteAsync(
            [new ProcessingResult(first, InboxStatus.Processed, Apply: plan)], CancellationToken.None)).Status);
        var second = await AcceptAsync(t);
        Assert.Equal(InboxStatus.Processed, Assert.Single(await t.Processing.CompleteAsync(
            [new ProcessingResult(second, InboxStatus.Processed, Apply: plan)], CancellationToken.None)).Status);
        Assert.Equal(23L, await CountAsync(t, "entry"));
        Assert.Equal(46L, await CountAsync(t, "entry_source"));
        Assert.Equal(23L, await ScalarAsync(t, $"SELECT COUNT(*) FROM entry_source WHERE inbound_message_id = {second}"));
    }

    [Fact]
    public async Task A_merge_points_the_merged_patients_report_at_the_survivors_copy_of_its_result()
    {
        await using var t = await OpenStoreAsync();
        var survivor = Qualified(ins: Ins1, ipp: "000003");
        var merged = Qualified(ins: Ins2, ipp: "000099");
        async Task FeedAsync(MappedMessage message, params EntryPlan[] entries) =>
            await t.Processing.CompleteAsync([new ProcessingResult(await AcceptAsync(t), InboxStatus.Processed,
                Apply: new ApplyPlan([MessagePlan.Of(message, T1, [], entries)]))], CancellationToken.None);
        await FeedAsync(Oru(survivor), Entry("Observation", "obs", """{"resourceType":"Observation","id":"plan-obs"}"""));
        await FeedAsync(Oru(merged),
            Entry("Observation", "obs", """{"resourceType":"Observation","id":"plan-obs"}"""),
            Entry("DiagnosticReport", "rep", """{"resourceType":"DiagnosticReport","id":"plan-rep","result":[{"reference":"Observation/plan-obs"}]}"""));
        var survivorId = await ScalarAsync(t, $"SELECT id FROM patient WHERE ins = '{Ins1}'");
        var kept = await TextAsync(t, $"SELECT public_id FROM entry WHERE kind = 'Observation' AND patient_id = {survivorId}");
        var report = await TextAsync(t, "SELECT public_id FROM entry WHERE kind = 'DiagnosticReport'");

        await CompleteAsync(t, await AcceptAsync(t), Adt(survivor) with
        {
            Merges = [new PatientMerge { MergedIdentifiers = [new Identifier("CHU-X", "000099")], Provenance = Provenance() }],
        });

        Assert.Equal(2L, await ScalarAsync(t, $"SELECT COUNT(*) FROM entry WHERE patient_id = {survivorId}"));
        var moved = System.Text.Json.Nodes.JsonNode.Parse((await TextAsync(t, "SELECT resource FROM entry WHERE kind = 'DiagnosticReport'"))!)!;
        Assert.Equal((report, $"Observation/{kept}"), ((string?)moved["id"], (string?)moved["result"]![0]!["reference"]));
    }

    [Fact]
    public async Task A_message_held_earlier_in_a_chunk_is_released_by_a_qualified_adt_later_in_it()
    {
        // Nothing is held when the chunk starts (the chunk then skips looking for messages to release) until its first
        // message is held: the ADT after it in the same commit must still release it.
        await using var t = await OpenStoreAsync();
        var ippOnly = new Patient { LocalIdentifiers = [new Identifier("CHU-X", "000078")], Names = [Name("DOE")] };
        Assert.Equal(InboxStatus.Processed, (await CompleteAsync(t, await AcceptAsync(t), Adt(ippOnly))).Status);
        Assert.Equal(0L, await CountAsync(t, "held_identity"));

        var oru = await AcceptAsync(t);
        var adt = await AcceptAsync(t);
        var final = await t.Processing.CompleteAsync(
        [
            new ProcessingResult(oru, InboxStatus.Processed, Apply: Input(Oru(ippOnly, Doc("1.2.3.6.2")), T1)),
            new ProcessingResult(adt, InboxStatus.Processed, Apply: Input(Adt(Qualified(ipp: "000078")), T1)),
        ], CancellationToken.None);

        Assert.Equal([InboxStatus.Held, InboxStatus.Processed], final.Select(r => r.Status));
        Assert.Equal(InboxStatus.Accepted, await TextAsync(t, $"SELECT status FROM inbound_message WHERE id = {oru}"));
        Assert.Equal(0L, await CountAsync(t, "held_identity"));
        Assert.Contains($"qualified by message {adt}", await TextAsync(t, $"SELECT detail FROM inbound_message_history WHERE message_id = {oru} ORDER BY id DESC"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ipp_only_patient_holds_documents_until_a_qualified_adt_links_it_and_releases_them()
    {
        await using var t = await OpenStoreAsync();
        var ippOnly = new Patient { LocalIdentifiers = [new Identifier("CHU-X", "000077")], Names = [Name("DOE")] };
        Assert.Equal(InboxStatus.Processed, (await CompleteAsync(t, await AcceptAsync(t), Adt(ippOnly))).Status);
        var oru = await AcceptAsync(t);
        var held = await CompleteAsync(t, oru, Oru(ippOnly, Doc("1.2.3.6.1")));
        Assert.Equal(InboxStatus.Held, held.Status);
        Assert.Equal(["CHU-X|000077"], (await QueryAsync<string>(t, $"SELECT identity_key FROM held_identity WHERE message_id = {oru}")).ToArray());
        Assert.Equal(0L, await CountAsync(t, "document"));

        var adt = await AcceptAsync(t);
        Assert.Equal(InboxStatus.Processed, (await CompleteAsync(t, adt, Adt(Qualified(ipp: "000077")))).Status);

        // Linked: the IPP-only patient took the INS (one patient), and the held message is accepted again.
        Assert.Equal(1L, await CountAsync(t, "patient"));
        Assert.Equal(Ins1, await TextAsync(t, "SELECT ins FROM patient"));
        Assert.Equal(InboxStatus.Accepted, await TextAsync(t, $"SELECT status FROM inbound_message WHERE id = {oru}"));
        Assert.Contains($"qualified by message {adt}", await TextAsync(t,
            $"SELECT detail FROM inbound_message_history WHERE message_id = {oru} ORDER BY id DESC LIMIT 1"), StringComparison.Ordinal);
        Assert.Equal(0L, await CountAsync(t, "held_identity"));

        Assert.Equal(InboxStatus.Processed, (await CompleteAsync(t, oru, Oru(ippOnly, Doc("1.2.3.6.1")))).Status);
        Assert.Equal(await ScalarAsync(t, "SELECT id FROM patient"), await ScalarAsync(t, "SELECT patient_id FROM document"));
    }

    [Fact]
    public async Task A_qualified_adt_naming_an_ipp_of_another_ipp_only_patient_moves_it_to_the_ins_patient()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Adt(Qualified(ipp: "000003")));
        await CompleteAsync(t, await AcceptAsync(t), Adt(new Patient { LocalIdentifiers = [new Identifier("CHU-Y", "555")], Names = [Name("DOE")] }));

        var patient = Qualified(ipp: "000003") with { LocalIdentifiers = [new Identifier("CHU-X", "000003"), new Identifier("CHU-Y", "555")] };
        await CompleteAsync(t, await AcceptAsync(t), Adt(patient));

        var survivor = await ScalarAsync(t, $"SELECT id FROM patient WHERE ins = '{Ins1}'");
        Assert.Equal(survivor, await t.Store.PatientLinks.FindPatientAsync("CHU-Y", "555", CancellationToken.None));
        var merge = Assert.Single(await t.Store.PatientLinks.ListMergesAsync(survivor, CancellationToken.None));
        Assert.Equal(["CHU-Y|555"], merge.MergedIdentifiers);
    }

    [Fact]
    public async Task An_A40_merge_moves_documents_and_entries_to_the_survivor_and_the_link_reads_back()
    {
        await using var t = await OpenStoreAsync();
        var survivor = Qualified(ins: Ins1, ipp: "000003");
        var merged = Qualified(ins: Ins2, ipp: "000099");
        await CompleteAsync(t, await AcceptAsync(t), Oru(survivor, Doc("1.2.3.7.1"), allergy: Allergy("J45")));
        await CompleteAsync(t, await AcceptAsync(t), Oru(merged, Doc("1.2.3.7.2"), allergy: Allergy("J45")));
        await CompleteAsync(t, await AcceptAsync(t), Oru(merged, allergy: Allergy("T78")));
        var survivorId = await ScalarAsync(t, $"SELECT id FROM patient WHERE ins = '{Ins1}'");
        var mergedId = await ScalarAsync(t, $"SELECT id FROM patient WHERE ins = '{Ins2}'");

        var a40 = await AcceptAsync(t);
        var result = await CompleteAsync(t, a40, Adt(survivor) with
        {
            Merges = [new PatientMerge { MergedIdentifiers = [new Identifier("CHU-X", "000099")], Provenance = Provenance() }],
        });

        Assert.Equal(InboxStatus.Processed, result.Status);
        Assert.Equal(2L, await ScalarAsync(t, $"SELECT COUNT(*) FROM document WHERE patient_id = {survivorId}"));
        Assert.Equal(0L, await ScalarAsync(t, $"SELECT COUNT(*) FROM document WHERE patient_id = {mergedId}"));
        // J45 from both: one entry with both sources; T78 moved.
        Assert.Equal(2L, await ScalarAsync(t, $"SELECT COUNT(*) FROM entry WHERE patient_id = {survivorId}"));
        Assert.Equal(2L, await ScalarAsync(t, $"SELECT COUNT(*) FROM entry_source s JOIN entry e ON e.id = s.entry_id WHERE e.code = 'J45'"));
        Assert.Equal(survivorId, await ScalarAsync(t, $"SELECT merged_into FROM patient WHERE id = {mergedId}"));
        Assert.Equal(survivorId, await t.Store.PatientLinks.FindPatientAsync("CHU-X", "000099", CancellationToken.None));
        var link = Assert.Single(await t.Store.PatientLinks.ListMergesAsync(survivorId, CancellationToken.None));
        Assert.Equal((mergedId, survivorId, (long?)a40, "CHU-X|000099"), (link.MergedPatientId, link.SurvivorPatientId, link.InboundMessageId, link.MergedIdentifiers[0]));

        // A later document under the merged INS lands at the survivor.
        await CompleteAsync(t, await AcceptAsync(t), Oru(merged, Doc("1.2.3.7.3")));
        Assert.Equal(survivorId, await ScalarAsync(t, "SELECT patient_id FROM document WHERE unique_id = '1.2.3.7.3'"));
    }

    [Fact]
    public async Task Opposition_to_feeding_refuses_documents_from_that_organisation()
    {
        await using var t = await OpenStoreAsync();
        var adt = await CompleteAsync(t, await AcceptAsync(t), Adt(Qualified()) with
        {
            Choices = [new DossierChoices { OpposesFeeding = Choice.Yes, ConsentsToConsultation = Choice.No, OpposesEmergencyAccess = true, Provenance = Provenance() }],
        });
        Assert.Equal(InboxStatus.Processed, adt.Status);
        Assert.Equal((1L, 0L), (await ScalarAsync(t, "SELECT CASE WHEN opposes_feeding THEN 1 ELSE 0 END FROM dossier_facility_choice WHERE organisation = 'CHU-X'"),
            await ScalarAsync(t, "SELECT CASE WHEN consents_consultation THEN 1 ELSE 0 END FROM dossier_facility_choice WHERE organisation = 'CHU-X'")));
        Assert.Equal(1L, await ScalarAsync(t, "SELECT CASE WHEN opposes_emergency THEN 1 ELSE 0 END FROM dossier"));

        var oru = await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.8.1"), allergy: Allergy("J45")));

        Assert.Equal(InboxStatus.RefusedByPatient, oru.Status);
        Assert.Equal((0L, 0L), (await CountAsync(t, "document"), await CountAsync(t, "entry")));
        Assert.Contains("CHU-X", oru.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_adts_stays_follow_the_choices_the_same_adt_records_new_changed_or_kept_for_an_older_event()
    {
        // The opposition check of an ADT's stays reads the choices its own ZFA just recorded (not asked of the store again).
        await using var t = await OpenStoreAsync();
        async Task<ProcessingResult> AdtAsync(Choice opposes, DateTimeOffset at) =>
            Assert.Single(await t.Processing.CompleteAsync([new ProcessingResult(await AcceptAsync(t), InboxStatus.Processed, Apply: new ApplyPlan(
            [
                MessagePlan.Of(Adt(Qualified()) with { Choices = [new DossierChoices { OpposesFeeding = opposes, Provenance = Provenance() }] }, at, [],
                    [Entry("Encounter", "stay-1", """{"resourceType":"Encounter","id":"plan-stay"}""")]),
            ]))], CancellationToken.None));

        var opposed = await AdtAsync(Choice.Yes, T1);
        Assert.Equal(InboxStatus.Processed, opposed.Status);
        Assert.Contains("stays not stored: the patient opposes feeding the DMP from CHU-X", opposed.Detail, StringComparison.Ordinal);
        Assert.Equal(0L, await CountAsync(t, "entry"));

        var lifted = await AdtAsync(Choice.No, T2);
        Assert.DoesNotContain("stays not stored", lifted.Detail, StringComparison.Ordinal);
        Assert.Equal(1L, await CountAsync(t, "entry"));

        // An older ADT opposing again changes no choice: its stays are stored, as the kept choice says.
        var older = await AdtAsync(Choice.Yes, T1);
        Assert.Contains("older event than the stored DMP choices", older.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("stays not stored", older.Detail, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync(t, "SELECT CASE WHEN opposes_feeding THEN 1 ELSE 0 END FROM dossier_facility_choice WHERE organisation = 'CHU-X'"));
        Assert.Equal(2L, await ScalarAsync(t, "SELECT COUNT(*) FROM entry_source")); // the second and third ADTs
    }

    [Fact]
    public async Task A_document_not_for_the_DMP_is_refused()
    {
        await using var t = await OpenStoreAsync();
        var document = Doc("1.2.3.8.2") with { Routing = new DocumentRouting { ToDmp = false } };

        var result = await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), document));

        Assert.Equal(InboxStatus.RefusedByPatient, result.Status);
        Assert.Contains("DESTDMP", result.Detail, StringComparison.Ordinal);
        Assert.Equal(0L, await CountAsync(t, "document"));
    }

    [Fact]
    public async Task An_older_event_does_not_overwrite_newer_demographics()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Adt(Qualified(family: "NEWER")), T2);
        await CompleteAsync(t, await AcceptAsync(t), Adt(Qualified(family: "OLDER")), T1);

        Assert.Equal("NEWER", await TextAsync(t, "SELECT family FROM patient"));
        Assert.Equal(StoreTime.Write(T2), await TextAsync(t, "SELECT demographics_at FROM patient"));

        await CompleteAsync(t, await AcceptAsync(t), Adt(Qualified(family: "NEWEST")), T2.AddHours(1));
        Assert.Equal("NEWEST", await TextAsync(t, "SELECT family FROM patient"));
    }

    [Fact]
    public async Task One_failing_apply_in_a_batch_fails_only_that_message()
    {
        await using var t = await OpenStoreAsync();
        var ids = new[] { await AcceptAsync(t), await AcceptAsync(t), await AcceptAsync(t) };
        // An entry without its resource breaks a NOT NULL constraint after the patient and document were written.
        var input = Input(Oru(Qualified(ins: Ins2, ipp: "000042"), Doc("1.2.3.10.2"), allergy: Allergy("J45")), T1);
        var broken = input with { Messages = [input.Messages[0] with { Entries = [input.Messages[0].Entries[0] with { Resource = null! }] }] };

        var results = await t.Processing.CompleteAsync(
        [
            new ProcessingResult(ids[0], InboxStatus.Processed, Apply: Input(Oru(Qualified(), Doc("1.2.3.10.1")), T1)),
            new ProcessingResult(ids[1], InboxStatus.Processed, Apply: broken),
            new ProcessingResult(ids[2], InboxStatus.Processed, Apply: Input(Oru(Qualified(), Doc("1.2.3.10.3")), T1)),
        ], CancellationToken.None);

        Assert.Equal([InboxStatus.Processed, InboxStatus.Failed, InboxStatus.Processed], results.Select(r => r.Status).ToArray());
        Assert.StartsWith("applying to the dossier failed", results[1].Error, StringComparison.Ordinal);
        Assert.Equal(InboxStatus.Failed, await TextAsync(t, $"SELECT status FROM inbound_message WHERE id = {ids[1]}"));
        Assert.Equal(["1.2.3.10.1", "1.2.3.10.3"], (await QueryAsync<string>(t, "SELECT unique_id FROM document ORDER BY unique_id")).ToArray());
        // Its savepoint rolled back everything it wrote, the patient it created included.
        Assert.Equal(0L, await ScalarAsync(t, $"SELECT COUNT(*) FROM patient WHERE ins = '{Ins2}'"));
        // The chunk was written again, each apply under its own savepoint: one outcome line and one deposit event each.
        Assert.Equal(3L, await ScalarAsync(t, "SELECT COUNT(*) FROM inbound_message_history WHERE status IN ('processed', 'failed')"));
        Assert.Equal(2L, await ScalarAsync(t, "SELECT COUNT(*) FROM audit_event"));
    }

    [Fact]
    public async Task Each_stored_document_has_a_deposit_event_in_an_intact_chain()
    {
        await using var t = await OpenStoreAsync();
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.11.1")));
        await CompleteAsync(t, await AcceptAsync(t), Oru(Qualified(), Doc("1.2.3.11.2")));

        var events = (await QueryAsync<(string Action, string AgentKind, string AgentId, string Entity, long Patient)>(t,
            "SELECT action, agent_kind, agent_id, entity_type || '/' || entity_id, patient_id FROM audit_event ORDER BY id")).ToList();
        var documents = (await QueryAsync<long>(t, "SELECT id FROM document ORDER BY id")).ToList();
        var patient = await ScalarAsync(t, "SELECT id FROM patient");
        Assert.Equal(documents.Select(d => ("deposit", "system", Mllp, $"DocumentReference/{d}", patient)), events);
        var verification = await t.Store.Audit.VerifyAsync(CancellationToken.None);
        Assert.True(verification.Intact, string.Join("; ", verification.Breaks));
        Assert.Equal(2L, verification.Events);
    }

    [Fact]
    public async Task A_duplicate_key_is_recognised_as_a_unique_violation_and_nothing_else_is()
    {
        await using var t = await OpenStoreAsync();
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        const string insert = "INSERT INTO audit_head (chain, seq, hash) VALUES ('x', 0, @Hash);";
        await connection.ExecuteAsync(insert, new { Hash = new byte[32] });

        var duplicate = await Assert.ThrowsAnyAsync<Exception>(() => connection.ExecuteAsync(insert, new { Hash = new byte[32] }));
        var notNull = await Assert.ThrowsAnyAsync<Exception>(() => connection.ExecuteAsync("INSERT INTO audit_head (chain, seq, hash) VALUES ('y', 0, NULL);"));

        Assert.True(t.Store.Connections.IsUniqueViolation(duplicate), duplicate.Message);
        Assert.False(t.Store.Connections.IsUniqueViolation(notNull), notNull.Message);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static Provenance Provenance() => new(Mllp, "1", "ORU^R01", T1);

    private static PersonName Name(string family) => new(family, ["JEAN"], null, null, "L");

    private static Patient Qualified(string ins = Ins1, string ipp = "000003", string family = "PAT-TROIS") => new()
    {
        Ins = new Identifier(Oids.InsNirTest, ins),
        IdentityStatus = "VALI",
        LocalIdentifiers = [new Identifier("CHU-X", ipp)],
        Names = [Name(family)],
        BirthDate = new PartialDateTime(new DateTime(1979, 3, 28), DateTimePrecision.Day, null),
        Sex = "F",
    };

    private static Document Doc(string uid, string? set = null, int? version = null, DocumentAction action = DocumentAction.New, string? replaces = null) => new()
    {
        UniqueId = new Identifier("urn:ietf:rfc:3986", "urn:oid:" + uid),
        SetId = set is null ? null : new Identifier("urn:ietf:rfc:3986", "urn:oid:" + set),
        Version = version,
        Replaces = replaces is null ? [] : [new Identifier("urn:ietf:rfc:3986", "urn:oid:" + replaces)],
        TypeCode = new Code("11502-2", "2.16.840.1.113883.6.1", "CR d'examens biologiques"),
        Author = new Practitioner(new Identifier(Oids.Rpps, "801234534765"), "CAMPARINI", "Marcel"),
        AuthorOrganisation = new Identifier(Oids.Structure, "1120459876"),
        MimeType = "text/xml",
        Content = Encoding.UTF8.GetBytes("<ClinicalDocument/>"),
        Action = action,
        Status = action == DocumentAction.Delete ? DocumentStatus.Deleted : DocumentStatus.Current,
        ValidatedByAuthor = true,
        Provenance = Provenance(),
    };

    private static Allergy Allergy(string code) => new() { Substance = new Code(code, "I10"), Provenance = Provenance() };

    private static MappedMessage Adt(Patient patient) => Message("ADT", patient);

    /// <summary>An entry as the mapping plans it: its natural key's fingerprint and its JSON with the plan's ids.</summary>
    private static EntryPlan Entry(string kind, string fingerprint, string resource) =>
        new(new EntryKey(kind, fingerprint, null, null, null), resource, null, T1);

    private static MappedMessage Oru(Patient patient, Document? document = null, Allergy? allergy = null, string? resource = null) =>
        Message("ORU", patient) with
        {
            Documents = document is null ? [] : [document],
            Allergies = allergy is null ? [] : [allergy],
            Notes = resource is null ? [] : [new MappingNote(NoteSeverity.Information, resource)],
        };

    private static MappedMessage Message(string type, Patient patient) => new()
    {
        Info = new MessageInfo { Sender = Mllp, SendingApplication = "GAM", SendingFacility = "CHU-X", MessageType = type },
        Patients = [patient],
        Provenance = Provenance(),
    };

    /// <summary>
    /// The apply plan the worker would build (a fake blob key; the entry's JSON from the message's note when given; an
    /// allergy's natural key is its substance, as the mapping's fingerprint keys it).
    /// </summary>
    private static ApplyPlan Input(MappedMessage m, DateTimeOffset at)
    {
        var documents = m.Documents.Select(d => new DocumentPlan(d, new DocumentBody(
            Blobs.BlobKey.Of(d.Content!.Value.Span), Blobs.BlobKey.Of(d.Content!.Value.Span), "c2hhMQ==", d.Content!.Value.Length, "text/xml"))).ToList();
        var resource = m.Notes.FirstOrDefault()?.Text ?? "{\"resourceType\":\"AllergyIntolerance\"}";
        var entries = m.Allergies.Select(a => new EntryPlan(
            new EntryKey("AllergyIntolerance", a.Substance!.System + "|" + a.Substance.Value, a.Substance.Value, a.Substance.System, null),
            resource, documents.Count > 0 ? 0 : null, at)).ToList();
        return new ApplyPlan([MessagePlan.Of(m, at, documents, entries)]);
    }

    private async Task<long> AcceptAsync(TestStore t, string sender = Mllp)
    {
        var controlId = "C" + Interlocked.Increment(ref _controlIds);
        return (await t.AcceptAsync(Frames.Make(sender, controlId, Frames.Hl7(controlId)))).Id;
    }

    private static async Task<ProcessingResult> CompleteAsync(TestStore t, long id, MappedMessage message, DateTimeOffset? at = null) =>
        Assert.Single(await t.Processing.CompleteAsync([new ProcessingResult(id, InboxStatus.Processed, Apply: Input(message, at ?? T1))], CancellationToken.None));

    private static Task<long> CountAsync(TestStore t, string table) => ScalarAsync(t, $"SELECT COUNT(*) FROM {table}");

    private static async Task<long> ScalarAsync(TestStore t, string sql)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<long>(sql);
    }

    private static async Task<string?> TextAsync(TestStore t, string sql)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<string?>(sql);
    }

    private static async Task<IEnumerable<T>> QueryAsync<T>(TestStore t, string sql)
    {
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        return (await connection.QueryAsync<T>(sql)).AsList();
    }

    /// <summary>Every row of the dossier tables, as text, to compare two states.</summary>
    private static async Task<string> SnapshotAsync(TestStore t)
    {
        var text = new StringBuilder();
        await using var connection = await t.Store.Connections.OpenAsync(CancellationToken.None);
        foreach (var table in new[] { "patient", "patient_identifier", "dossier", "dossier_facility_choice", "document", "document_source", "entry", "entry_source", "patient_merge", "audit_event" })
        {
            foreach (IDictionary<string, object?> row in await connection.QueryAsync($"SELECT * FROM {table} ORDER BY 1, 2"))
                text.AppendLine(table + ": " + string.Join(", ", row.Select(c => $"{c.Key}={(c.Value is byte[] b ? Convert.ToHexString(b) : c.Value)}")));
        }
        return text.ToString();
    }
}

public sealed class SqliteDossierApplyTests : DossierApplyTests
{
    private protected override Task<TestStore> OpenStoreAsync() => TestStore.OpenAsync();
}

[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresDossierApplyTests(PostgresServer server) : DossierApplyTests
{
    private protected override async Task<TestStore> OpenStoreAsync() => await TestStore.OpenAsync(await server.CreateDatabaseAsync());
}
