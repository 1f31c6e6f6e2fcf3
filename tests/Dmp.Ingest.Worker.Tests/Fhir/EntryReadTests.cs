using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Mapping.Fhir;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// Clinical entries by their public ids: random per entry, unique on the server, kept when a source dedups into the
/// entry, read by id under the search's access rules (one 404 for absent and not yours), and every reference an
/// entry search serves resolves. Results are fed as ORU^R01 through MLLP and applied by the gateway's pipeline.
/// </summary>
public sealed partial class EntryReadTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private DossierSeed Seed => fixture.Seed;

    [Fact]
    public async Task The_same_result_in_two_dossiers_has_two_ids_that_do_not_come_from_its_content()
    {
        var effective = new DateTimeOffset(2025, 9, 1, 8, 30, 0, TimeSpan.Zero);
        var first = await Seed.PatientAsync(DossierSeed.NewIns());
        var second = await Seed.PatientAsync(DossierSeed.NewIns());

        var (inFirst, firstReport) = await Seed.ResultAsync(first, "2345-7", effective);
        var (inSecond, secondReport) = await Seed.ResultAsync(second, "2345-7", effective);

        Assert.NotEqual(inFirst, inSecond);
        Assert.NotEqual(firstReport, secondReport);
        Assert.Matches(PublicId(), inFirst);
        Assert.Matches(PublicId(), inSecond);
        // The id the mapping derives from the natural key (what the API served before) is nowhere in what is stored.
        var (kind, fingerprint, resource) = await StoredAsync(inFirst);
        var contentId = DeterministicId.From(kind, fingerprint);
        Assert.NotEqual(contentId, inFirst);
        Assert.DoesNotContain(contentId, resource, StringComparison.Ordinal);
        Assert.Equal(fingerprint, (await StoredAsync(inSecond)).Fingerprint);
    }

    [Fact]
    public async Task The_same_result_sent_again_keeps_its_id_and_the_new_report_points_at_it()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var effective = DateTimeOffset.UtcNow.AddDays(-2);
        var (observation, report) = await Seed.ResultAsync(patientId, "2345-7", effective);

        // Same result under a new report: the Observation dedups (and is refreshed by the newer source).
        await Seed.SendResultAsync(patientId, "2345-7", effective);

        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        var (_, observations) = await patient.FhirGetAsync($"/fhir/Observation?patient={patientId}");
        Assert.Equal([observation], observations.ResourceIds("Observation"));
        var (_, reports) = await patient.FhirGetAsync($"/fhir/DiagnosticReport?patient={patientId}");
        var reportIds = reports.ResourceIds("DiagnosticReport");
        Assert.Equal(2, reportIds.Count);
        Assert.Contains(report, reportIds);
        Assert.All(reports.GetProperty("entry").EnumerateArray(), e =>
            Assert.Equal([$"Observation/{observation}"], References(e.GetProperty("resource"), "result")));
        Assert.Equal(observation, (await StoredAsync(observation)).Resource is { } json ? JsonDocument.Parse(json).RootElement.GetProperty("id").GetString() : null);
    }

    [Fact]
    public async Task The_owner_and_an_authorised_professional_read_an_entry_by_id_and_anyone_else_gets_the_absent_entrys_404()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        await Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        var otherIns = DossierSeed.NewIns();
        await Seed.PatientAsync(otherIns);
        var (observation, _) = await Seed.ResultAsync(patientId, "3016-3", DateTimeOffset.UtcNow.AddDays(-1));
        var allergy = await Seed.AllergyAsync(patientId, "91936005", DateTimeOffset.UtcNow.AddDays(-30));

        foreach (var token in new[] { DossierSeed.PatientToken(ins), DossierSeed.ProfessionalToken(AuthorisedRpps) })
        {
            using var reader = Seed.Client(token);
            var (status, read) = await reader.FhirGetAsync($"/fhir/Observation/{observation}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(("Observation", observation), (read.GetProperty("resourceType").GetString(), read.GetProperty("id").GetString()));
            Assert.Equal($"Patient/{patientId}", read.GetProperty("subject").GetProperty("reference").GetString());
            var (allergyStatus, allergyRead) = await reader.FhirGetAsync($"/fhir/AllergyIntolerance/{allergy}");
            Assert.Equal((HttpStatusCode.OK, allergy), (allergyStatus, allergyRead.GetProperty("id").GetString()));
        }

        var absentId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        using var owner = Seed.Client(DossierSeed.PatientToken(ins));
        var absent = await ReadAsync(owner, $"/fhir/Observation/{absentId}");
        Assert.Equal(HttpStatusCode.NotFound, absent.Status);
        Assert.Equal($"Observation/{absentId} is not found", Diagnostics(absent.Body));
        // The right id under another type is absent too: the answer the others get must be exactly this one.
        var otherType = await ReadAsync(owner, $"/fhir/DiagnosticReport/{observation}");
        Assert.Equal(HttpStatusCode.NotFound, otherType.Status);

        foreach (var token in new[] { DossierSeed.PatientToken(otherIns), DossierSeed.ProfessionalToken(StrangerRpps) })
        {
            using var stranger = Seed.Client(token);
            var notYours = await ReadAsync(stranger, $"/fhir/Observation/{observation}");
            var random = await ReadAsync(stranger, $"/fhir/Observation/{absentId}");
            Assert.Equal(HttpStatusCode.NotFound, notYours.Status);
            Assert.Equal(random.Status, notYours.Status);
            Assert.Equal(random.Body.Replace(absentId, "{id}", StringComparison.Ordinal), notYours.Body.Replace(observation, "{id}", StringComparison.Ordinal));
            Assert.Equal(otherType.Body.Replace("DiagnosticReport/", "Observation/", StringComparison.Ordinal), notYours.Body);
        }

        // The refusals are in the dossier's trail; the owner's and the authorised professional's reads too.
        var outcomes = new List<string>();
        await Seed.WriteAsync(async (c, t) => outcomes.AddRange(await c.QueryAsync<string>(
            "SELECT outcome FROM audit_event WHERE patient_id = @PatientId AND entity_type = 'Observation' AND entity_id = @Id AND action = 'read' ORDER BY id;",
            new { PatientId = patientId, Id = observation }, t)));
        Assert.Equal(["success", "success", "denied", "denied"], outcomes);
    }

    [Fact]
    public async Task The_capability_statement_declares_read_for_every_entry_type()
    {
        var (_, metadata) = await Seed.Client(DossierSeed.PatientToken(DossierSeed.NewIns())).FhirGetAsync("/fhir/metadata");

        var reads = metadata.GetProperty("rest")[0].GetProperty("resource").EnumerateArray()
            .Where(r => r.GetProperty("interaction").EnumerateArray().Any(i => i.GetProperty("code").GetString() == "read"))
            .Select(r => r.GetProperty("type").GetString()).ToList();
        Assert.All(DossierResources.EntryKinds, kind => Assert.Contains(kind, reads));
    }

    [Fact]
    public async Task An_entry_of_a_masked_document_is_read_by_the_patient_but_is_absent_for_a_professional()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        await Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        var masked = await Seed.DocumentAsync(patientId, new DossierSeed.Doc
        {
            TypeCode = "11502-2", Masked = true, AuthorRpps = "10000000099", CreatedAt = DateTimeOffset.UtcNow.AddDays(-2),
            Results = [("3016-3", DateTimeOffset.UtcNow.AddDays(-2))],
        });
        var fromMasked = Assert.Single(await Seed.EntriesOfAsync(masked, "Observation"));

        var (patientStatus, _) = await Seed.Client(DossierSeed.PatientToken(ins)).FhirGetAsync($"/fhir/Observation/{fromMasked}");
        var professional = await ReadAsync(Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps)), $"/fhir/Observation/{fromMasked}");

        Assert.Equal(HttpStatusCode.OK, patientStatus);
        Assert.Equal(HttpStatusCode.NotFound, professional.Status);
        Assert.Equal($"Observation/{fromMasked} is not found", Diagnostics(professional.Body));
    }

    [Fact]
    public async Task Every_reference_a_diagnostic_report_search_serves_resolves()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var now = DateTimeOffset.UtcNow;
        await Seed.ResultAsync(patientId, "3016-3", now.AddDays(-3));
        await Seed.ResultAsync(patientId, "2345-7", now.AddDays(-2));
        await Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "11502-2", CreatedAt = now.AddDays(-1), Results = [("1558-6", now.AddDays(-1))] });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, bundle) = await patient.FhirGetAsync($"/fhir/DiagnosticReport?patient={patientId}");

        Assert.Equal(HttpStatusCode.OK, status);
        var entries = bundle.GetProperty("entry").EnumerateArray().ToList();
        // Two ORU reports and the CR-BIO document's own report, each with its result.
        Assert.Equal(3, entries.Count);
        var followed = 0;
        foreach (var entry in entries)
        {
            var resource = entry.GetProperty("resource");
            var (fullStatus, full) = await patient.FhirGetAsync(entry.GetProperty("fullUrl").GetString()!);
            Assert.Equal(HttpStatusCode.OK, fullStatus);
            Assert.Equal(resource.GetProperty("id").GetString(), full.GetProperty("id").GetString());
            var results = References(resource, "result");
            Assert.NotEmpty(results);
            foreach (var reference in results.Append(resource.GetProperty("subject").GetProperty("reference").GetString()!))
            {
                var (referenceStatus, target) = await patient.FhirGetAsync("/fhir/" + reference);
                Assert.True(referenceStatus == HttpStatusCode.OK, $"{reference} does not resolve: {referenceStatus}");
                Assert.Equal(reference, target.GetProperty("resourceType").GetString() + "/" + target.GetProperty("id").GetString());
                if (reference.StartsWith("Observation/", StringComparison.Ordinal))
                    Assert.Equal($"Patient/{patientId}", target.GetProperty("subject").GetProperty("reference").GetString());
                followed++;
            }
        }

        Assert.Equal(6, followed);
    }

    private static List<string> References(JsonElement resource, string element) =>
        resource.TryGetProperty(element, out var list)
            ? list.EnumerateArray().Select(r => r.GetProperty("reference").GetString()!).ToList()
            : [];

    private static async Task<(HttpStatusCode Status, string Body)> ReadAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string? Diagnostics(string body) =>
        JsonDocument.Parse(body).RootElement.GetProperty("issue")[0].GetProperty("diagnostics").GetString();

    private async Task<(string Kind, string Fingerprint, string Resource)> StoredAsync(string publicId)
    {
        (string, string, string) row = default;
        await Seed.WriteAsync(async (c, t) => row = await c.QuerySingleAsync<(string, string, string)>(
            "SELECT kind, fingerprint, resource FROM entry WHERE public_id = @Id;", new { Id = publicId }, t));
        return row;
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex PublicId();
}
