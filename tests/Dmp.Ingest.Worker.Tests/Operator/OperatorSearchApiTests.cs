using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Operator;

/// <summary>
/// The operators' search over real HTTP on corpus messages that came in over real MLLP: a PAM France admission and a
/// CI-SIS MDM^T02 for one patient (INS and IPP), an admission of another patient, an ADT without PID (failed).
/// </summary>
public sealed class OperatorSearchApiTests
{
    private const string Ins = "279035121518989";
    private const string Ipp = "CHU-X|000003";
    private const string RadiologyId = "1.2.250.1.71.4.2.2.120456789.71024000081";

    private sealed record Traffic(long Admission, long Mdm, long Other, long NoPid);

    private static async Task<Traffic> SendAsync(TestGateway gateway)
    {
        await using (var client = await gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("OTHER-1"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("NOPID-1", withPid: false))).Code);
        }

        var rows = await gateway.MessagesAsync();
        long IdOf(string type, string? controlId = null) =>
            rows.Single(r => r.Str("messageType") == type && (controlId is null || r.Str("controlId") == controlId)).Id();
        var traffic = new Traffic(IdOf("ADT^A01", "3975"), IdOf("MDM^T02"), IdOf("ADT^A01", "OTHER-1"), IdOf("ADT^A01", "NOPID-1"));
        await gateway.WaitForStatusAsync(traffic.Admission, "processed");
        await gateway.WaitForStatusAsync(traffic.Mdm, "processed");
        await gateway.WaitForStatusAsync(traffic.Other, "processed");
        await gateway.WaitForStatusAsync(traffic.NoPid, "failed");
        return traffic;
    }

    private static async Task<List<long>> IdsAsync(TestGateway gateway, string query) =>
        [.. (await gateway.MessagesAsync(query)).Select(r => r.Id())];

    [Fact]
    public async Task Ins_and_ipp_searches_return_that_patients_messages_only_and_type_and_document_filter()
    {
        await using var gateway = await TestGateway.StartAsync();
        var x = await SendAsync(gateway);

        Assert.Equal([x.Mdm, x.Admission], await IdsAsync(gateway, "patient=" + Ins));
        Assert.Equal([x.Mdm, x.Admission], await IdsAsync(gateway, "patient=" + Uri.EscapeDataString("1.2.250.1.213.1.4.10|" + Ins)));
        Assert.Equal([x.Mdm, x.Admission], await IdsAsync(gateway, "patient=" + Uri.EscapeDataString(Ipp)));
        Assert.Equal([x.Other], await IdsAsync(gateway, "patient=123456"));
        Assert.Empty(await IdsAsync(gateway, "patient=" + Uri.EscapeDataString("CHU-Y|000003")));

        Assert.Equal([x.NoPid, x.Other, x.Admission], await IdsAsync(gateway, "type=ADT"));
        Assert.Equal([x.NoPid, x.Other, x.Admission], await IdsAsync(gateway, "type=" + Uri.EscapeDataString("ADT^A01")));
        Assert.Empty(await IdsAsync(gateway, "type=" + Uri.EscapeDataString("ADT^A08")));
        Assert.Equal([x.Mdm], await IdsAsync(gateway, "type=mdm"));
        Assert.Equal([x.Mdm], await IdsAsync(gateway, "document=" + RadiologyId));
        Assert.Equal([x.Mdm], await IdsAsync(gateway, "document=urn:oid:" + RadiologyId));
        Assert.Empty(await IdsAsync(gateway, "document=1.2.3.4"));
        // Filters combine; until is exclusive.
        Assert.Equal([x.Admission], await IdsAsync(gateway, "type=ADT&patient=" + Ins));
        Assert.Empty(await IdsAsync(gateway, "patient=" + Ins + "&until=2000-01-01T00:00:00Z"));
        Assert.Equal([x.Mdm, x.Admission], await IdsAsync(gateway, "patient=" + Ins + "&until=2999-01-01T00:00:00Z&status=processed"));
    }

    [Fact]
    public async Task A_message_that_failed_after_its_pid_was_read_is_found_by_the_patient_it_named_and_replay_keeps_it_found()
    {
        await using var gateway = await TestGateway.StartAsync();
        // The CI-SIS MDM^T02 with its CDA's Base64 broken: mapping fails on OBX-5, PID-3 reads fine.
        var mdm = Encoding.Latin1.GetString(Hl7Samples.Corpus("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7"));
        Assert.Contains("^Base64^PENsaW5p", mdm, StringComparison.Ordinal);
        var broken = Hl7Samples.WithControlId(Encoding.Latin1.GetBytes(mdm.Replace("^Base64^PENsaW5p", "^Base64^*PENsaW5p", StringComparison.Ordinal)), "BROKEN-1");
        await using (var client = await gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(broken)).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("OTHER-2"))).Code);
        }
        var id = (await gateway.SingleAsync("BROKEN-1")).Id();
        var failed = await gateway.WaitForStatusAsync(id, "failed");
        Assert.Contains("Base64", failed.Str("error"), StringComparison.Ordinal);
        await gateway.WaitForStatusAsync((await gateway.SingleAsync("OTHER-2")).Id(), "processed");

        Assert.Equal([id], await IdsAsync(gateway, "patient=" + Ins));
        Assert.Empty(await IdsAsync(gateway, "patient=" + Uri.EscapeDataString("1.2.250.1.213.1.4.8|" + Ins)));
        Assert.Equal([id], await IdsAsync(gateway, "patient=" + Uri.EscapeDataString("1.2.250.1.213.1.4.10|" + Ins)));
        Assert.Equal([id], await IdsAsync(gateway, "status=failed&type=MDM"));

        using var replay = await gateway.Api.PostAsync($"/api/messages/{id}/replay", null);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        await WaitForHistoryAsync(gateway, id, ["accepted", "failed", "accepted", "failed"]);
        Assert.Equal([id], await IdsAsync(gateway, "patient=" + Ins));
    }

    [Theory]
    [InlineData("messageType=ADT", "messageType")]
    [InlineData("patientId=1", "patientId")]
    [InlineData("type=A%20D", "type must be")]
    [InlineData("until=yesterday", "until must be")]
    [InlineData("patient=%7C", "patient must be")]
    public async Task An_unknown_or_malformed_parameter_is_a_400_problem_naming_the_allowed_ones(string query, string named)
    {
        await using var gateway = await TestGateway.StartAsync();

        using var list = await gateway.Api.GetAsync("/api/messages?" + query);
        using var stats = await gateway.Api.GetAsync("/api/messages/stats?" + query);

        foreach (var response in new[] { list, stats })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Str("detail")!;
            Assert.Contains(named, detail, StringComparison.Ordinal);
            if (named == query.Split('=')[0])
                Assert.Contains("patient, type, document, status, sender, controlId, since, until", detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Stats_count_per_status_and_bulk_replay_refuses_a_wrong_count_and_replays_the_confirmed_one_in_the_background()
    {
        await using var gateway = await TestGateway.StartAsync();
        var x = await SendAsync(gateway);

        var all = await JsonAsync(gateway.Api, "/api/messages/stats");
        var mine = await JsonAsync(gateway.Api, "/api/messages/stats?patient=" + Ins);
        Assert.Equal(4, all.GetProperty("total").GetInt64());
        Assert.Equal(3, all.GetProperty("byStatus").GetProperty("processed").GetInt64());
        Assert.Equal(1, all.GetProperty("byStatus").GetProperty("failed").GetInt64());
        Assert.Equal(2, mine.GetProperty("byStatus").GetProperty("processed").GetInt64());
        Assert.Equal(0, mine.GetProperty("byStatus").GetProperty("failed").GetInt64());

        using var wrong = await PostJsonAsync(gateway.Api, "/api/messages/replay", $$"""{"patient": "{{Ins}}", "expectedCount": 3}""");
        Assert.Equal(HttpStatusCode.Conflict, wrong.StatusCode);
        Assert.Equal("application/problem+json", wrong.Content.Headers.ContentType?.MediaType);
        Assert.Contains("holds 2 replayable messages", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var unknown = await PostJsonAsync(gateway.Api, "/api/messages/replay", """{"patients": "x", "expectedCount": 1}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        using var noCount = await PostJsonAsync(gateway.Api, "/api/messages/replay", $$"""{"patient": "{{Ins}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, noCount.StatusCode);

        using var accepted = await PostJsonAsync(gateway.Api, "/api/messages/replay", $$"""{"patient": "{{Ins}}", "expectedCount": 2}""");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var started = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, started.GetProperty("count").GetInt32());
        var self = started.GetProperty("links").Str("self")!;
        Assert.Equal("/api/replays/" + started.Str("id"), self);

        var deadline = DateTime.UtcNow + TestGateway.Patience;
        JsonElement progress;
        do
        {
            progress = await JsonAsync(gateway.Api, self);
            if (progress.Str("state") == "done")
                break;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal("done", progress.Str("state"));
        Assert.Equal((2, 2, 0), (progress.GetProperty("total").GetInt32(), progress.GetProperty("done").GetInt32(), progress.GetProperty("failed").GetInt32()));

        // Exactly the two: each processed twice now; the others once.
        foreach (var id in new[] { x.Admission, x.Mdm })
            await WaitForHistoryAsync(gateway, id, ["accepted", "processed", "accepted", "processed"]);
        Assert.Equal(["accepted", "processed"], History(await gateway.GetAsync(x.Other)));
        Assert.Equal(["accepted", "failed"], History(await gateway.GetAsync(x.NoPid)));

        // Audited in the operator chain.
        var store = gateway.Services.GetRequiredService<StoreLifetime>().Store;
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        var audit = await connection.QuerySingleAsync<(string Chain, string Detail)>(
            "SELECT chain, detail FROM audit_event WHERE action = 'replay' AND entity_id = @Id;", new { Id = started.Str("id") });
        Assert.Equal("operator", audit.Chain);
        Assert.Contains("2 messages", audit.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(Ins, audit.Detail, StringComparison.Ordinal);

        using var missing = await gateway.Api.GetAsync("/api/replays/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_message_detail_links_what_it_produced_and_the_links_resolve_for_the_patient()
    {
        // No delay before the patient sees a new document: the link is read as the patient right away.
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Access:PatientHiddenDays"] = "0" });
        var x = await SendAsync(gateway);

        var mdm = (await gateway.GetAsync(x.Mdm)).GetProperty("produced");
        var other = (await gateway.GetAsync(x.NoPid)).GetProperty("produced");

        var patient = Assert.Single(mdm.GetProperty("patients").EnumerateArray().ToList());
        Assert.Equal($"/fhir/Patient/{patient.GetProperty("id").GetInt64()}", patient.Str("link"));
        var document = Assert.Single(mdm.GetProperty("documents").EnumerateArray().ToList());
        Assert.Equal(RadiologyId, document.Str("uniqueId"));
        Assert.Equal($"/fhir/DocumentReference/{document.GetProperty("id").GetInt64()}", document.Str("link"));
        Assert.Empty(other.GetProperty("documents").EnumerateArray());
        Assert.Empty(other.GetProperty("patients").EnumerateArray());

        // The patient comes with the identifiers it is known by now, the ones the operators' search takes.
        var identifiers = patient.GetProperty("identifiers").EnumerateArray().Select(i => $"{i.Str("kind")} {i.Str("system")}|{i.Str("value")}").ToList();
        Assert.Contains("ins 1.2.250.1.213.1.4.10|" + Ins, identifiers);
        Assert.Contains("local " + Ipp, identifiers);
        // A processed admission fed that same patient (its demographics) and no document; a failed message fed no one.
        var admission = (await gateway.GetAsync(x.Admission)).GetProperty("produced");
        Assert.Equal(patient.GetProperty("id").GetInt64(), Assert.Single(admission.GetProperty("patients").EnumerateArray().ToList()).GetProperty("id").GetInt64());
        Assert.Empty(admission.GetProperty("documents").EnumerateArray());

        using var asPatient = gateway.Client(TestGateway.Token("patient", ins: Ins));
        using var readPatient = await asPatient.GetAsync(patient.Str("link"));
        using var readDocument = await asPatient.GetAsync(document.Str("link"));
        Assert.Equal(HttpStatusCode.OK, readPatient.StatusCode);
        Assert.Equal(HttpStatusCode.OK, readDocument.StatusCode);
        Assert.Contains(RadiologyId, await readDocument.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var entry in mdm.GetProperty("entries").EnumerateArray())
            Assert.Equal($"/fhir/{entry.Str("type")}/{entry.Str("id")}", entry.Str("link"));
    }

    [Fact]
    public async Task Senders_show_each_sender_with_its_last_message_and_counts_over_24_hours()
    {
        await using var gateway = await TestGateway.StartAsync();
        var x = await SendAsync(gateway);

        var senders = (await JsonAsync(gateway.Api, "/api/senders")).GetProperty("senders").EnumerateArray().ToList();
        using var withParameter = await gateway.Api.GetAsync("/api/senders?x=1");

        var app = senders.Single(s => s.Str("sender") == Hl7Samples.Sender);
        Assert.Equal(JsonValueKind.Null, app.GetProperty("name").ValueKind);
        Assert.Equal(1, app.GetProperty("byStatus").GetProperty("processed").GetInt64());
        Assert.Equal(1, app.GetProperty("byStatus").GetProperty("failed").GetInt64());
        Assert.Equal((await gateway.GetAsync(x.NoPid)).GetProperty("lastReceivedAt").GetDateTimeOffset(), app.GetProperty("lastReceivedAt").GetDateTimeOffset());
        Assert.Equal(3, senders.Count); // APP|FAC, GAM|CHU-X, the MDM's RIS-Y|Organisation-Y
        Assert.Equal(HttpStatusCode.BadRequest, withParameter.StatusCode);
    }

    private static List<string?> History(JsonElement message) =>
        [.. message.GetProperty("history").EnumerateArray().Select(h => h.Str("status"))];

    private static async Task WaitForHistoryAsync(TestGateway gateway, long id, string[] expected)
    {
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        List<string?> history;
        do
        {
            history = History(await gateway.GetAsync(id));
            if (history.SequenceEqual(expected))
                return;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(expected, history);
    }

    private static async Task<JsonElement> JsonAsync(HttpClient api, string url)
    {
        using var response = await api.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static Task<HttpResponseMessage> PostJsonAsync(HttpClient api, string url, string json) =>
        api.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));
}
