using System.Net;
using System.Text;
using Dapper;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// Issue 16, "existence leaks": a read by id answers the same bytes whether the id is absent or not the caller's, a
/// patient's search by another's identifier answers the same 403 whether it exists or not, and a professional's
/// existence check is audited. The same id is asked before its row exists and after (the next row id is read first,
/// then the seed creates that very row), so the comparison is of identical requests.
/// </summary>
public sealed class ExistenceAnswerTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private DossierSeed Seed => fixture.Seed;

    private async Task<long> NextIdAsync(string table)
    {
        long next = 0;
        await Seed.WriteAsync(async (c, t) => next = (await c.ExecuteScalarAsync<long?>($"SELECT MAX(id) FROM {table};", transaction: t) ?? 0) + 1);
        return next;
    }

    /// <summary>Every request by id, for patient <paramref name="patient"/> and document <paramref name="document"/>.</summary>
    private static List<(HttpMethod Method, string Url, string? Body, string? MediaType)> RequestsById(long patient, long document) =>
    [
        (HttpMethod.Get, $"/fhir/Patient/{patient}", null, null),
        (HttpMethod.Get, $"/fhir/Patient/{patient}/$recent-exams?days=30", null, null),
        (HttpMethod.Post, $"/fhir/Patient/{patient}/$close", null, null),
        (HttpMethod.Post, $"/fhir/Patient/{patient}/$authorize",
            """{"resourceType":"Parameters","parameter":[{"name":"rpps","valueString":"10000000004"}]}""", "application/fhir+json"),
        (HttpMethod.Get, $"/fhir/DocumentReference/{document}", null, null),
        (HttpMethod.Get, $"/fhir/Binary/{document}", null, null),
        (HttpMethod.Post, $"/fhir/DocumentReference/{document}/$mask", null, null),
        (HttpMethod.Post, $"/fhir/DocumentReference/{document}/$unhide", null, null),
        (HttpMethod.Patch, $"/fhir/DocumentReference/{document}",
            """[{"op":"replace","path":"/status","value":"entered-in-error"}]""", "application/json-patch+json"),
        (HttpMethod.Delete, $"/fhir/DocumentReference/{document}", null, null),
    ];

    private static async Task<(HttpStatusCode Status, string ContentType, string Body)> SendAsync(HttpClient client, (HttpMethod Method, string Url, string? Body, string? MediaType) r)
    {
        using var request = new HttpRequestMessage(r.Method, r.Url);
        if (r.Body is not null)
            request.Content = new StringContent(r.Body, Encoding.UTF8, r.MediaType!);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Every_read_by_id_answers_the_same_bytes_for_an_absent_id_and_one_the_caller_may_not_see()
    {
        var otherIns = DossierSeed.NewIns();
        await Seed.PatientAsync(otherIns);
        var callers = new Dictionary<string, HttpClient>
        {
            ["another patient"] = Seed.Client(DossierSeed.PatientToken(otherIns)),
            ["a professional not authorised"] = Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps)),
            ["an operator"] = Seed.Client(DossierSeed.OperatorToken()),
        };
        var patient = await NextIdAsync("patient");
        var document = await NextIdAsync("document");
        var requests = RequestsById(patient, document);

        var absent = new Dictionary<(string, int), (HttpStatusCode, string, string)>();
        foreach (var (who, client) in callers)
            for (var i = 0; i < requests.Count; i++)
                absent[(who, i)] = await SendAsync(client, requests[i]);

        var ins = DossierSeed.NewIns();
        Assert.Equal(patient, await Seed.PatientAsync(ins));
        Assert.Equal(document, await Seed.DocumentAsync(patient, new DossierSeed.Doc { HiddenFromPatient = true }));

        foreach (var (who, client) in callers)
        {
            for (var i = 0; i < requests.Count; i++)
            {
                var existing = await SendAsync(client, requests[i]);
                var before = absent[(who, i)];
                Assert.True(before == existing, $"{who}, {requests[i].Method} {requests[i].Url}: absent {before} / existing {existing}");
                Assert.Equal(HttpStatusCode.NotFound, existing.Status);
                var type = requests[i].Url.Split('/')[2];
                var id = type == "Patient" ? patient : document;
                Assert.Contains($"{type}/{id} is not found", existing.Body, StringComparison.Ordinal);
            }
        }

        // The dossier still records who was refused, and why.
        var denied = 0L;
        await Seed.WriteAsync(async (c, t) => denied = await c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM audit_event WHERE patient_id = @Patient AND outcome = 'denied';", new { Patient = patient }, t));
        Assert.True(denied >= callers.Count * requests.Count, $"{denied} denied events");
        foreach (var client in callers.Values)
            client.Dispose();
    }

    [Fact]
    public async Task The_owner_reading_a_document_hidden_from_them_gets_the_answer_of_an_absent_one()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var hidden = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { HiddenFromPatient = true });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, body) = await patient.FhirGetAsync($"/fhir/DocumentReference/{hidden}");

        IsOutcome(body, HttpStatusCode.NotFound, status);
        Assert.Equal($"DocumentReference/{hidden} is not found", body.GetProperty("issue")[0].GetProperty("diagnostics").GetString());
    }

    private static string[] SearchesFor(string ins, long? patientId) =>
    [
        "/fhir/Patient?identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{ins}"),
        DocumentsOf(ins),
        "/fhir/Observation?patient.identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{ins}"),
        "/fhir/AuditEvent?patient.identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{ins}"),
        .. patientId is { } id ? new[] { $"/fhir/DocumentReference?patient={id}" } : [],
    ];

    [Fact]
    public async Task A_patient_searching_another_identifier_gets_the_same_403_whether_it_exists_or_not()
    {
        var ownIns = DossierSeed.NewIns();
        await Seed.PatientAsync(ownIns);
        var existingIns = DossierSeed.NewIns();
        var existing = await Seed.PatientAsync(existingIns);
        var absentIns = DossierSeed.NewIns();
        var absentId = await NextIdAsync("patient") + 1000;
        using var patient = Seed.Client(DossierSeed.PatientToken(ownIns));
        using var operatorClient = Seed.Client(DossierSeed.OperatorToken());

        foreach (var client in new[] { patient, operatorClient })
        {
            var forExisting = SearchesFor(existingIns, existing);
            var forAbsent = SearchesFor(absentIns, absentId);
            for (var i = 0; i < forExisting.Length; i++)
            {
                var a = await SendAsync(client, (HttpMethod.Get, forExisting[i], null, null));
                var b = await SendAsync(client, (HttpMethod.Get, forAbsent[i], null, null));
                Assert.Equal(HttpStatusCode.Forbidden, a.Status);
                Assert.True(a == b, $"{forExisting[i]}: existing {a} / absent {b}");
            }
        }
    }

    [Fact]
    public async Task A_professionals_existence_check_is_possible_and_audited()
    {
        var absentIns = DossierSeed.NewIns();
        var existingIns = DossierSeed.NewIns();
        var existing = await Seed.PatientAsync(existingIns);
        using var professional = Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps));

        var (absentStatus, absentBody) = await professional.FhirGetAsync(DocumentsOf(absentIns));
        var (bundleStatus, bundle) = await professional.FhirGetAsync("/fhir/Patient?identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{absentIns}"));
        var (existingStatus, existingBody) = await professional.FhirGetAsync(DocumentsOf(existingIns));

        IsOutcome(absentBody, HttpStatusCode.NotFound, absentStatus);
        Assert.Equal(HttpStatusCode.OK, bundleStatus);
        Assert.False(bundle.TryGetProperty("entry", out _));
        IsOutcome(existingBody, HttpStatusCode.Forbidden, existingStatus);
        var checks = new List<(string Action, string Outcome, string Detail)>();
        await Seed.WriteAsync(async (c, t) => checks.AddRange(await c.QueryAsync<(string, string, string)>(
            "SELECT action, outcome, detail FROM audit_event WHERE patient_id IS NULL AND agent_id = @Rpps AND detail LIKE @Ins ORDER BY id;",
            new { Rpps = StrangerRpps, Ins = "%" + absentIns + "%" }, t)));
        Assert.Equal(2, checks.Count);
        Assert.All(checks, c => Assert.Equal(("search", "not-found"), (c.Action, c.Outcome)));
        var denied = 0L;
        await Seed.WriteAsync(async (c, t) => denied = await c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM audit_event WHERE patient_id = @Patient AND agent_id = @Rpps AND outcome = 'denied';", new { Patient = existing, Rpps = StrangerRpps }, t));
        Assert.Equal(1, denied);
    }

    [Fact]
    public async Task Binary_responses_are_never_sniffed_nor_run_and_xml_comes_as_an_attachment()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var document = await Seed.DocumentAsync(patientId);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        foreach (var (accept, attachment) in new[] { ("*/*", true), ("text/xml", true), ("application/fhir+json", false) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/fhir/Binary/{document}");
            request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await patient.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("sandbox", Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
            Assert.Equal(attachment ? "attachment" : null, response.Content.Headers.ContentDisposition?.DispositionType);
            if (attachment)
                Assert.Contains("xml", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        }

        using var missing = await patient.GetAsync($"/fhir/Binary/{document + 100000}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("nosniff", Assert.Single(missing.Headers.GetValues("X-Content-Type-Options")));
    }
}
