using System.Net;
using System.Text.Json;
using Dapper;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>The audit trail of the dossier API: the patient's AuditEvent search, verification, tampering, raw reads.</summary>
public sealed class DossierAuditTests
{
    [Fact]
    public async Task The_patient_reads_every_access_to_their_dossier_including_emergency_ones_with_their_reason()
    {
        await using var gateway = await TestGateway.StartAsync();
        var seed = new DossierSeed(gateway);
        var ins = DossierSeed.NewIns();
        var patientId = await seed.PatientAsync(ins);
        var doc = await seed.DocumentAsync(patientId);
        using var patient = seed.Client(DossierSeed.PatientToken(ins));
        using var emergency = seed.Client(DossierSeed.ProfessionalToken(StrangerRpps), Uri.EscapeDataString("arrêt cardiaque, SAMU"));
        using var other = seed.Client(DossierSeed.PatientToken(DossierSeed.NewIns()));

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(HttpStatusCode.OK, (await emergency.FhirGetAsync($"/fhir/DocumentReference/{doc}")).Status);
        using (var content = await emergency.GetAsync($"/fhir/Binary/{doc}"))
            Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/DocumentReference/{doc}/$mask")).Status);

        var (status, trail) = await patient.FhirGetAsync($"/fhir/AuditEvent?patient={patientId}");

        Assert.Equal(HttpStatusCode.OK, status);
        var events = trail.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource")).ToList();
        // The five accesses, after the deposit the gateway itself recorded when it applied the seeded document's MDM.
        Assert.Equal(6, events.Count);
        Assert.Equal(["mask", "search", "retrieve", "read", "search", "deposit"], events.Select(e => e.GetProperty("subtype")[0].GetProperty("code").GetString()));
        var deposit = events[5];
        Assert.Equal("system", deposit.GetProperty("agent")[0].GetProperty("type").GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal($"DocumentReference/{doc}", deposit.GetProperty("entity")[0].GetProperty("what").GetProperty("reference").GetString());
        var retrieve = events[2];
        Assert.Equal("BTG", retrieve.GetProperty("purposeOfEvent")[0].GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("arrêt cardiaque, SAMU", retrieve.GetProperty("purposeOfEvent")[0].GetProperty("text").GetString());
        Assert.Equal("8" + StrangerRpps, retrieve.GetProperty("agent")[0].GetProperty("who").GetProperty("identifier").GetProperty("value").GetString());
        Assert.Equal("emergency", retrieve.GetProperty("agent")[0].GetProperty("role")[0].GetProperty("text").GetString());
        Assert.Equal("0", retrieve.GetProperty("outcome").GetString());
        Assert.Equal($"DocumentReference/{doc}", retrieve.GetProperty("entity")[0].GetProperty("what").GetProperty("reference").GetString());
        var denied = events[1];
        Assert.Equal("4", denied.GetProperty("outcome").GetString());
        Assert.Equal("patient", denied.GetProperty("agent")[0].GetProperty("type").GetProperty("coding")[0].GetProperty("code").GetString());

        // Paging the trail, and the trail is the patient's only.
        var (_, firstPage) = await patient.FhirGetAsync($"/fhir/AuditEvent?patient={patientId}&_count=2");
        Assert.Equal(2, firstPage.Ids("AuditEvent").Count);
        Assert.NotNull(firstPage.NextLink());
        var (professionalStatus, _) = await emergency.FhirGetAsync($"/fhir/AuditEvent?patient={patientId}");
        Assert.Equal(HttpStatusCode.Forbidden, professionalStatus);
    }

    [Fact]
    public async Task Verify_reports_an_intact_trail_then_names_the_chain_and_seq_of_an_edited_event()
    {
        await using var gateway = await TestGateway.StartAsync();
        var seed = new DossierSeed(gateway);
        var ins = DossierSeed.NewIns();
        var patientId = await seed.PatientAsync(ins);
        var doc = await seed.DocumentAsync(patientId);
        using var patient = seed.Client(DossierSeed.PatientToken(ins));
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await patient.FhirGetAsync($"/fhir/DocumentReference/{doc}")).Status);
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("AUDIT-RAW-1"))).Code);
        var message = await gateway.SingleAsync("AUDIT-RAW-1");
        using (var raw = await gateway.Api.GetAsync($"/api/messages/{message.Id()}/raw"))
            Assert.Equal(HttpStatusCode.OK, raw.StatusCode);

        var intact = await VerifyAsync(gateway);
        Assert.True(intact.GetProperty("intact").GetBoolean(), intact.ToString());
        Assert.Equal(2, intact.GetProperty("chains").GetInt64());
        // The three reads and the operator's raw read, and the deposit the gateway recorded when it applied the document's MDM.
        Assert.Equal(5, intact.GetProperty("events").GetInt64());
        var store = gateway.Services.GetRequiredService<DmpStore>();
        await using (var connection = await store.Connections.OpenAsync(CancellationToken.None))
        {
            var deposit = await connection.QuerySingleAsync<(string AgentKind, string Action, string EntityId)>(
                "SELECT agent_kind, action, entity_id FROM audit_event WHERE chain = @Chain AND seq = 1;", new { Chain = $"patient:{patientId}" });
            Assert.Equal(("system", "deposit", doc.ToString(System.Globalization.CultureInfo.InvariantCulture)), deposit);
            var rawRead = await connection.QuerySingleAsync<(string AgentKind, string Action, string EntityId)>(
                "SELECT agent_kind, action, entity_id FROM audit_event WHERE chain = 'operator';");
            Assert.Equal(("operator", "raw-read", message.Id().ToString(System.Globalization.CultureInfo.InvariantCulture)), rawRead);
        }

        await seed.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE audit_event SET agent_id = '00000000000' WHERE chain = @Chain AND seq = 2;", new { Chain = $"patient:{patientId}" }, t));
        var broken = await VerifyAsync(gateway);

        Assert.False(broken.GetProperty("intact").GetBoolean());
        var only = Assert.Single(broken.GetProperty("breaks").EnumerateArray());
        Assert.Equal($"patient:{patientId}", only.GetProperty("chain").GetString());
        Assert.Equal(2, only.GetProperty("seq").GetInt64());
        Assert.True(only.GetProperty("eventId").GetInt64() > 0);
        Assert.Contains("edited", only.GetProperty("reason").GetString(), StringComparison.Ordinal);

        using var forbidden = await patient.GetAsync("/api/audit/verify");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("application/problem+json", forbidden.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<JsonElement> VerifyAsync(TestGateway gateway)
    {
        using var response = await gateway.Api.GetAsync("/api/audit/verify");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
