using System.Net;
using Dapper;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// Issue 16, "the patient's trail cannot be paged": the `next` links of `GET /fhir/AuditEvent` are followed to the
/// last event of a trail of hundreds (the patient's own reads make them), each event seen once, newest first.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class AuditPagingTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private DossierSeed Seed => fixture.Seed;

    [Fact]
    public async Task The_patient_follows_next_links_through_hundreds_of_events_to_the_last_one()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        await Seed.DocumentAsync(patientId);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        for (var i = 0; i < 320; i++)
            Assert.Equal(HttpStatusCode.OK, (await patient.FhirGetAsync($"/fhir/Patient/{patientId}")).Status);

        // The trail as stored before the first page; the pages' own search events come after it and are not on them.
        var stored = new List<long>();
        await Seed.WriteAsync(async (c, t) => stored.AddRange(await c.QueryAsync<long>(
            "SELECT id FROM audit_event WHERE patient_id = @Patient ORDER BY id DESC;", new { Patient = patientId }, t)));
        Assert.True(stored.Count > 320, $"{stored.Count} events stored");

        var seen = new List<long>();
        string? url = $"/fhir/AuditEvent?patient={patientId}&_count=25";
        var pages = 0;
        while (url is not null)
        {
            var (status, bundle) = await patient.FhirGetAsync(url);
            Assert.True(status == HttpStatusCode.OK, $"page {pages + 1} ({url}): {status} {bundle}");
            var ids = bundle.ResourceIds("AuditEvent").Select(long.Parse).ToList();
            Assert.InRange(ids.Count, 1, 25);
            seen.AddRange(ids);
            url = bundle.NextLink();
            pages++;
            Assert.True(pages <= stored.Count / 25 + 2, "the next links do not end");
        }

        Assert.Equal(stored, seen);
        Assert.Equal((stored.Count + 24) / 25, pages);
    }

    [Fact]
    public async Task A_cursor_the_server_did_not_give_is_refused_with_400()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, body) = await patient.FhirGetAsync($"/fhir/AuditEvent?patient={patientId}&_cursor=not-a-cursor!");

        IsOutcome(body, HttpStatusCode.BadRequest, status);
    }
}
