using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Mapping.Tests.Fhir;
using Hl7.Fhir.Model;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// What the API serves validates against base R4 (with the project's extensions' StructureDefinitions): metadata,
/// reads and searches for a dossier fed through the real pipeline (ADT, a CI-SIS MDM with its CDA, an ORU, an ADT^A60),
/// and an entry stored by an earlier version (no allergy clinical status, legacy extension URLs) as it is served now.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class FhirConformanceTests(DossierApiFixture api, R4Validation validation) : IClassFixture<DossierApiFixture>, IClassFixture<R4Validation>
{
    [Fact]
    public async System.Threading.Tasks.Task Every_response_for_a_fed_dossier_validates_against_base_R4()
    {
        var seed = api.Seed;
        var ins = DossierSeed.NewIns();
        var patientId = await seed.PatientAsync(ins);
        var document = await seed.DocumentAsync(patientId);
        await seed.ResultAsync(patientId, "3016-3", DateTimeOffset.UtcNow.AddDays(-2));
        await seed.AllergyAsync(patientId, "227493005", DateTimeOffset.UtcNow.AddDays(-10));

        using var patient = seed.Client(DossierSeed.PatientToken(ins));
        string[] urls =
        [
            "/fhir/metadata",
            $"/fhir/Patient/{patientId}",
            $"/fhir/DocumentReference?patient={patientId}",
            $"/fhir/DocumentReference/{document}",
            $"/fhir/Observation?patient={patientId}",
            $"/fhir/DiagnosticReport?patient={patientId}",
            $"/fhir/AllergyIntolerance?patient={patientId}",
            $"/fhir/AuditEvent?patient={patientId}",
            $"/fhir/Patient/{patientId}/$recent-exams?days=30",
        ];
        var failures = new List<string>();
        foreach (var url in urls)
        {
            var (status, body) = await patient.FhirGetAsync(url);
            Assert.True(status == HttpStatusCode.OK, $"{url}: {status} {body}");
            var resource = FhirJson.DeserializeStrict<Resource>(body.GetRawText());
            failures.AddRange(validation.Errors(resource).Select(e => $"{url}: {e}"));
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));

        var (_, allergies) = await patient.FhirGetAsync($"/fhir/AllergyIntolerance?patient={patientId}");
        var allergy = allergies.GetProperty("entry")[0].GetProperty("resource");
        Assert.Equal("active", allergy.GetProperty("clinicalStatus").GetProperty("coding")[0].GetProperty("code").GetString());
        var (_, reference) = await patient.FhirGetAsync($"/fhir/DocumentReference/{document}");
        Assert.DoesNotContain("urn:dmp-ingest:fhir:extension", reference.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async System.Threading.Tasks.Task An_entry_stored_before_the_canonical_urls_is_served_with_them_and_validates()
    {
        var seed = api.Seed;
        var ins = DossierSeed.NewIns();
        var patientId = await seed.PatientAsync(ins);
        await seed.AllergyAsync(patientId, "91936005", DateTimeOffset.UtcNow.AddDays(-3));

        // The row as an earlier version wrote it: no clinical status, an extension under its old urn: URL.
        await seed.WriteAsync(async (c, t) =>
        {
            var (id, json) = await c.QuerySingleAsync<(long, string)>(
                "SELECT id, resource FROM entry WHERE patient_id = @PatientId AND kind = 'AllergyIntolerance';", new { PatientId = patientId }, t);
            var node = JsonNode.Parse(json)!.AsObject();
            node.Remove("clinicalStatus");
            node["extension"] = new JsonArray(new JsonObject
            {
                ["url"] = "urn:dmp-ingest:fhir:extension:document-action",
                ["valueCode"] = "new",
            });
            await c.ExecuteAsync("UPDATE entry SET resource = @Resource WHERE id = @Id;", new { Resource = node.ToJsonString(), Id = id }, t);
        });

        using var patient = seed.Client(DossierSeed.PatientToken(ins));
        var (status, bundle) = await patient.FhirGetAsync($"/fhir/AllergyIntolerance?patient={patientId}");
        Assert.Equal(HttpStatusCode.OK, status);
        var served = bundle.GetProperty("entry")[0].GetProperty("resource");
        Assert.Equal("active", served.GetProperty("clinicalStatus").GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal(DmpFhir.DocumentActionExtension, served.GetProperty("extension")[0].GetProperty("url").GetString());
        // The extension's context is DocumentReference: on an allergy the validator says so; nothing else is wrong.
        var errors = validation.Errors(FhirJson.DeserializeStrict<Resource>(bundle.GetRawText()));
        Assert.All(errors, e => Assert.Contains("context", e, StringComparison.OrdinalIgnoreCase));
    }
}
