using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Mapping;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Rules;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Rules;

/// <summary>
/// Issue 20's API over real HTTP, on corpus messages received over real MLLP, with the rules in a temporary folder the
/// tests edit: try (loaded and disk rules), the preview of a code-table edit, a broken edit's position, manual reload.
/// </summary>
public sealed class RuleWorkbenchApiTests
{
    private static readonly byte[] Admission = Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7");

    [Fact]
    public async Task Try_gives_the_bundle_map_gives_and_the_explanation_with_the_rule_the_fields_read_and_not_read()
    {
        using var rules = new RulesWorkbench();
        await using var gateway = await TestGateway.StartAsync(rules.Settings());

        var (status, body, _) = await RulesWorkbench.TryAsync(gateway.Api, Admission);

        Assert.Equal(200, status);
        var expected = JsonNode.Parse(FhirJson.Serialize(InboundMapper.Map(Admission, "try", RuleSet.Load(rules.Folder).Rules!).Bundle!));
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(body.GetProperty("bundle").GetRawText())), "the bundle is map's");
        var explained = Assert.Single(body.GetProperty("explanation").EnumerateArray());
        Assert.Equal("ADT^A01", explained.Str("type"));
        Assert.Equal("pam-fr-adt.yaml", explained.GetProperty("rule").Str("file"));
        var read = explained.GetProperty("read").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("PID-3", read);
        Assert.Contains("PV1-2", read);
        Assert.Contains(explained.GetProperty("unread").EnumerateArray(), u => u.GetString()!.Contains("not read", StringComparison.Ordinal) || u.GetString()!.Contains("no rule reads it", StringComparison.Ordinal));
        Assert.Equal("IMP", RulesWorkbench.EncounterClass(body.GetProperty("bundle")));
    }

    [Fact]
    public async Task Try_with_disk_rules_uses_the_edited_table_and_a_broken_edit_is_a_422_naming_file_line_and_column()
    {
        using var rules = new RulesWorkbench();
        await using var gateway = await TestGateway.StartAsync(rules.Settings(reload: "manual"));
        rules.EditInpatientToEmergency();

        var (_, loaded, _) = await RulesWorkbench.TryAsync(gateway.Api, Admission);
        var (diskStatus, disk, _) = await RulesWorkbench.TryAsync(gateway.Api, Admission, "?rules=disk");
        Assert.Equal("IMP", RulesWorkbench.EncounterClass(loaded.GetProperty("bundle")));
        Assert.Equal(200, diskStatus);
        Assert.Equal("EMER", RulesWorkbench.EncounterClass(disk.GetProperty("bundle")));

        rules.BreakTable();
        var (status, problem, mediaType) = await RulesWorkbench.TryAsync(gateway.Api, Admission, "?rules=disk");
        Assert.Equal(422, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Matches(@"encounter-class\.yaml:\d+:\d+: ", problem.GetProperty("errors")[0].GetString());

        var (previewStatus, previewProblem, _) = await RulesWorkbench.PreviewAsync(gateway.Api, "{}");
        Assert.Equal(422, previewStatus);
        Assert.Matches(@"encounter-class\.yaml:\d+:\d+: ", previewProblem.GetProperty("errors")[0].GetString());
    }

    [Theory]
    [InlineData("this is not HL7", "x-application/hl7-v2+er7", 422)]
    [InlineData("<Parameters xmlns=\"http://hl7.org/fhir\"/>", "application/xml", 422)]
    [InlineData("MSH|^~\\&|APP|FAC|DMP|DMP|20260101120000||ADT^A01|X|P|2.5\rPV1|1|I\r", "text/plain", 422)]
    [InlineData("{}", "application/json", 415)]
    public async Task A_bad_input_to_try_is_a_4xx_problem_never_a_500(string body, string mediaType, int expected)
    {
        using var rules = new RulesWorkbench();
        await using var gateway = await TestGateway.StartAsync(rules.Settings());

        var (status, problem, type) = await RulesWorkbench.TryAsync(gateway.Api, System.Text.Encoding.UTF8.GetBytes(body), "", mediaType);

        Assert.Equal(expected, status);
        Assert.Equal("application/problem+json", type);
        Assert.Equal(expected, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Preview_of_a_code_table_edit_lists_exactly_the_messages_it_changes_with_the_field_diff_and_changes_nothing()
    {
        using var rules = new RulesWorkbench();
        await using var gateway = await TestGateway.StartAsync(rules.Settings(reload: "manual"));
        await using (var client = await gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Admission)).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(RulesWorkbench.Adt("WB-IN-1", "I"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(RulesWorkbench.Adt("WB-OUT-1", "O"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(RulesWorkbench.Adt("WB-EMER-1", "E"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("WB-NOPID", withPid: false))).Code);
        }
        var rows = await gateway.MessagesAsync();
        Assert.Equal(5, rows.Count);
        foreach (var row in rows)
            await gateway.WaitForStatusAsync(row.Id(), "processed", "failed", "ignored", "held");
        var admission = rows.Single(r => r.Str("controlId") == "3975").Id();
        var inpatient = (await gateway.SingleAsync("WB-IN-1")).Id();
        var before = await StateAsync(gateway);

        var (unchangedStatus, unchanged, _) = await RulesWorkbench.PreviewAsync(gateway.Api, "{}");
        Assert.Equal(200, unchangedStatus);
        Assert.Equal(5, unchanged.GetProperty("examined").GetInt32());
        Assert.Equal(0, unchanged.GetProperty("changed").GetInt32());
        Assert.Equal(1, unchanged.GetProperty("failed").GetInt32()); // the ADT without PID fails with either set

        rules.EditInpatientToEmergency();
        var (status, preview, _) = await RulesWorkbench.PreviewAsync(gateway.Api, "{}");

        Assert.Equal(200, status);
        Assert.Equal(5, preview.GetProperty("examined").GetInt32());
        Assert.Equal(2, preview.GetProperty("changed").GetInt32());
        Assert.False(preview.GetProperty("partial").GetBoolean());
        var items = preview.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([inpatient, admission], items.Select(i => i.Id()).ToList());
        foreach (var item in items)
        {
            Assert.Equal("mapped-differently", item.Str("change"));
            var change = Assert.Single(item.GetProperty("diff").EnumerateArray());
            Assert.StartsWith("Encounter/", change.Str("resource"), StringComparison.Ordinal);
            Assert.Equal("class.code", change.Str("path"));
            Assert.Equal("IMP", change.Str("before"));
            Assert.Equal("EMER", change.Str("after"));
        }

        // The filters are /api/messages' own: a type and a sender narrow it, a limit bounds it, an unknown filter is a 400.
        var (_, outpatient, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"type":"ADT^A01","controlId":"WB-OUT-1"}""");
        Assert.Equal(1, outpatient.GetProperty("examined").GetInt32());
        Assert.Equal(0, outpatient.GetProperty("changed").GetInt32());
        var (_, newest, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"type":"ADT^A01","limit":2}""");
        Assert.Equal(2, newest.GetProperty("examined").GetInt32());
        var (badStatus, bad, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"messageType":"ADT"}""");
        Assert.Equal(400, badStatus);
        Assert.Contains("messageType", bad.Str("detail"), StringComparison.Ordinal);
        var (overStatus, _, _) = await RulesWorkbench.PreviewAsync(gateway.Api, """{"limit":10001}""");
        Assert.Equal(400, overStatus);

        // Read-only: no status, history line or audit event moved; the loaded rules still map inpatients as before.
        Assert.Equal(before, await StateAsync(gateway));
        var (_, loaded, _) = await RulesWorkbench.TryAsync(gateway.Api, Admission);
        Assert.Equal("IMP", RulesWorkbench.EncounterClass(loaded.GetProperty("bundle")));
    }

    [Fact]
    public async Task Manual_mode_keeps_the_loaded_rules_until_the_audited_reload_and_a_refused_broken_set_keeps_them_too()
    {
        using var rules = new RulesWorkbench();
        await using var gateway = await TestGateway.StartAsync(rules.Settings(reload: "manual"));
        rules.EditInpatientToEmergency();

        // The poller would have loaded it within a second in auto mode.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var (_, still, _) = await RulesWorkbench.TryAsync(gateway.Api, Admission);
        Assert.Equal("IMP", RulesWorkbench.EncounterClass(still.GetProperty("bundle")));
        using (var info = await gateway.Api.GetAsync("/api/rules"))
        {
            var state = JsonDocument.Parse(await info.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("manual", state.Str("reload"));
            Assert.True(state.GetProperty("diskChanged").GetBoolean());
        }

        var (status, reloaded, _) = await RulesWorkbench.ReloadAsync(gateway.Api);
        Assert.Equal(200, status);
        Assert.True(reloaded.GetProperty("reloaded").GetBoolean());
        var (_, now, _) = await RulesWorkbench.TryAsync(gateway.Api, Admission);
        Assert.Equal("EMER", RulesWorkbench.EncounterClass(now.GetProperty("bundle")));

        rules.BreakTable();
        var (refusedStatus, refused, mediaType) = await RulesWorkbench.ReloadAsync(gateway.Api);
        Assert.Equal(422, refusedStatus);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Matches(@"encounter-class\.yaml:\d+:\d+: ", refused.GetProperty("errors")[0].GetString());
        var (_, kept, _) = await RulesWorkbench.TryAsync(gateway.Api, Admission);
        Assert.Equal("EMER", RulesWorkbench.EncounterClass(kept.GetProperty("bundle")));

        var store = gateway.Services.GetRequiredService<DmpStore>();
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        var audited = (await connection.QueryAsync<(string, string, string)>(
            "SELECT action, outcome, agent_kind FROM audit_event WHERE action = 'rules-reload' ORDER BY id;")).ToList();
        Assert.Equal([("rules-reload", "success", "operator"), ("rules-reload", "invalid", "operator")], audited);
    }

    [Fact]
    public async Task An_unknown_reload_mode_stops_the_start_with_one_line_naming_the_key()
    {
        using var rules = new RulesWorkbench();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestGateway.StartAsync(rules.Settings(reload: "sometimes")));
        Assert.Contains("Dmp:Rules:Reload", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_names_the_message_an_edit_breaks_and_the_one_it_mends_with_the_error_on_each_side()
    {
        // The CI-SIS lifecycle signals must agree: ORC-1, the document OBX's OBX-11 (F: new) and the MDM trigger (T02: new).
        // Loaded rules: ORC-1 NW is new (the report maps), RO is replace (its copy with RO fails: the signals disagree).
        // The edit on disk swaps the two: NW says replace (the report now fails), RO says new (the copy now maps).
        var report = Hl7Samples.Corpus("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7");
        var replaced = Hl7Samples.WithControlId(
            System.Text.Encoding.Latin1.GetBytes(System.Text.Encoding.Latin1.GetString(report).Replace("\rORC|NW|", "\rORC|RO|", StringComparison.Ordinal)),
            "WB-RO-1");
        Assert.Contains("\rORC|RO|", System.Text.Encoding.Latin1.GetString(replaced), StringComparison.Ordinal);

        using var rules = new RulesWorkbench();
        await using var gateway = await TestGateway.StartAsync(rules.Settings(reload: "manual"));
        await using (var client = await gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(report)).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(replaced)).Code);
        }
        var reportId = (await gateway.SingleAsync("015")).Id();
        var replacedId = (await gateway.SingleAsync("WB-RO-1")).Id();
        await gateway.WaitForStatusAsync(reportId, "processed", "held", "failed");
        await gateway.WaitForStatusAsync(replacedId, "failed");
        var before = await StateAsync(gateway);

        var (_, unchanged, _) = await RulesWorkbench.PreviewAsync(gateway.Api, "{}");
        Assert.Equal(2, unchanged.GetProperty("examined").GetInt32());
        Assert.Equal(0, unchanged.GetProperty("changed").GetInt32());
        Assert.Equal(1, unchanged.GetProperty("failed").GetInt32());

        var table = Path.Combine(rules.Folder, "tables", "cisis-orc-1.yaml");
        rules.Edit(table, "  NW: new\n", "  NW: replace\n");
        rules.Edit(table, "  RO: replace\n", "  RO: new\n");
        var (status, preview, _) = await RulesWorkbench.PreviewAsync(gateway.Api, "{}");

        Assert.Equal(200, status);
        Assert.Equal(2, preview.GetProperty("examined").GetInt32());
        Assert.Equal(2, preview.GetProperty("changed").GetInt32());
        Assert.Equal(1, preview.GetProperty("failed").GetInt32()); // the report, with the disk rules
        var items = preview.GetProperty("items").EnumerateArray().ToDictionary(i => i.Id());
        var fails = items[reportId];
        Assert.Equal("now-fails", fails.Str("change"));
        Assert.Equal(JsonValueKind.Null, fails.GetProperty("errorBefore").ValueKind);
        Assert.Contains("signals disagree", fails.Str("errorAfter"), StringComparison.Ordinal);
        Assert.Contains("'NW' means replace", fails.Str("errorAfter"), StringComparison.Ordinal);
        var maps = items[replacedId];
        Assert.Equal("now-maps", maps.Str("change"));
        Assert.Contains("'RO' means replace", maps.Str("errorBefore"), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, maps.GetProperty("errorAfter").ValueKind);
        Assert.True(maps.GetProperty("diffTotal").GetInt32() > 0); // the bundle it now gives, against none

        // Read-only, as for any preview: the failed copy is still failed until someone reloads and replays it.
        Assert.Equal(before, await StateAsync(gateway));
    }

    /// <summary>Every message's status and the counts of history lines and audit events: what a read-only preview must leave as it was.</summary>
    private static async Task<string> StateAsync(TestGateway gateway)
    {
        var store = gateway.Services.GetRequiredService<DmpStore>();
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        var statuses = await connection.QueryAsync<string>("SELECT id || ':' || status FROM inbound_message ORDER BY id;");
        var history = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbound_message_history;");
        var audit = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_event;");
        return string.Join(",", statuses) + $"|{history}|{audit}";
    }
}
