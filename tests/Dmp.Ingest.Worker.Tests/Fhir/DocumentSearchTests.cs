using System.Net;
using System.Security.Cryptography;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>DocumentReference search (MHD ITI-67), paging, parameter errors, retrieval (ITI-68), entries and $recent-exams.</summary>
public sealed class DocumentSearchTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private DossierSeed Seed => fixture.Seed;

    private static byte[] Corpus(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "cda", "french", name));

    [Fact]
    public async Task Pages_follow_next_links_in_a_stable_newest_first_order()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var start = new DateTimeOffset(2025, 1, 1, 8, 0, 0, TimeSpan.Zero);
        var ids = new List<(DateTimeOffset Created, long Id)>();
        for (var i = 0; i < 23; i++)
        {
            // Pairs share a creation time: the id breaks the tie.
            var created = start.AddHours(i / 2);
            ids.Add((created, await Seed.DocumentAsync(patientId, new DossierSeed.Doc { CreatedAt = created })));
        }

        var expected = ids.OrderByDescending(x => x.Created).ThenByDescending(x => x.Id).Select(x => x.Id).ToList();
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        var seen = new List<long>();
        string? url = DocumentsOf(ins) + "&_count=10";
        var pages = 0;
        while (url is not null)
        {
            var (status, bundle) = await patient.FhirGetAsync(url);
            Assert.Equal(HttpStatusCode.OK, status);
            seen.AddRange(bundle.Ids());
            url = bundle.NextLink();
            Assert.True(++pages <= 3, "paging does not end");
        }

        Assert.Equal(3, pages);
        Assert.Equal(expected, seen);
        var (_, ascending) = await patient.FhirGetAsync(DocumentsOf(ins) + "&_sort=date&_count=5");
        Assert.Equal(Enumerable.Reverse(expected).Take(5), ascending.Ids());
    }

    [Fact]
    public async Task Mhd_parameters_filter_the_documents()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var discharge = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { FormatCode = "urn:ihe:iti:xds-sd:pdf:2008", CreatedAt = new DateTimeOffset(2024, 3, 10, 9, 0, 0, TimeSpan.Zero), AuthorFamily = "Lefèvre", Facility = "SA07" });
        var lab = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { FormatCode = "urn:ihe:iti:xds-sd:pdf:2008", TypeCode = "11502-2", ClassCode = "11", CreatedAt = new DateTimeOffset(2025, 6, 1, 9, 0, 0, TimeSpan.Zero), Confidentiality = "R" });
        // Fed current: the replacement below supersedes it.
        var old = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { UniqueId = "1.2.250.1.999.7^OLD-1", CreatedAt = new DateTimeOffset(2023, 1, 1, 9, 0, 0, TimeSpan.Zero) });
        var replacing = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { FormatCode = "urn:ihe:iti:xds-sd:pdf:2008", ReplacesId = old, CreatedAt = new DateTimeOffset(2023, 2, 1, 9, 0, 0, TimeSpan.Zero) });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        async Task<List<long>> Find(string query)
        {
            var (status, bundle) = await patient.FhirGetAsync(DocumentsOf(ins) + query);
            Assert.True(status == HttpStatusCode.OK, $"{query}: {status} {bundle}");
            return bundle.Ids();
        }

        Assert.Equal([lab, discharge, replacing], await Find(""));
        Assert.Equal([lab], await Find("&type=http://loinc.org|11502-2"));
        Assert.Equal([lab], await Find("&type=11502-2,18748-4"));
        Assert.Equal([discharge, replacing], await Find("&category=10"));
        Assert.Equal([lab], await Find("&date=ge2025-01-01"));
        Assert.Equal([discharge], await Find("&date=2024-03"));
        Assert.Equal([discharge, replacing], await Find("&date=lt2025&date=ge2023-02-01"));
        Assert.Equal([discharge], await Find("&creation=2024-03-10"));
        Assert.Equal([discharge], await Find("&period=ge2024-03-07&period=le2024-03-09"));
        Assert.Equal([discharge], await Find("&author.family=lef"));
        Assert.Equal([lab, discharge, replacing], await Find("&author.given=CLA"));
        Assert.Equal([discharge], await Find("&facility=SA07"));
        Assert.Equal([lab], await Find("&security-label=R"));
        Assert.Equal([old], await Find("&status=superseded"));
        Assert.Equal([replacing], await Find("&status=current,superseded&related=DocumentReference/" + old));
        Assert.Equal([old], await Find("&status=superseded&identifier=" + Uri.EscapeDataString("urn:oid:1.2.250.1.999.7|OLD-1")));
        Assert.Equal([lab, discharge, replacing], await Find("&format=urn:ihe:iti:xds-sd:pdf:2008"));
        Assert.Empty(await Find("&setting=AUTRE"));
        Assert.Empty(await Find("&event=X"));
    }

    [Fact]
    public async Task A_document_reference_has_the_pdsm_shape()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        // The corpus CR-BIO with its id (the mapping keeps the CDA's over TXA-12) and setId its own: CR-42.
        var body = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fhir", "TestData", "cr-bio-tsh-CR-42.xml"));
        var old = await Seed.DocumentAsync(patientId); // superseded by the replacement below
        var doc = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "11502-2", Body = body, Masked = true, ReplacesId = old, FormatCode = "urn:ihe:iti:xds-sd:pdf:2008" });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, r) = await patient.FhirGetAsync($"/fhir/DocumentReference/{doc}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("DocumentReference", r.GetProperty("resourceType").GetString());
        Assert.Equal("current", r.GetProperty("status").GetString());
        Assert.Equal("urn:oid:1.2.250.1.999.8", r.GetProperty("masterIdentifier").GetProperty("system").GetString());
        Assert.Equal("CR-42", r.GetProperty("masterIdentifier").GetProperty("value").GetString());
        Assert.Equal("11502-2", r.GetProperty("type").GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("http://loinc.org", r.GetProperty("type").GetProperty("coding")[0].GetProperty("system").GetString());
        Assert.Equal($"Patient/{patientId}", r.GetProperty("subject").GetProperty("reference").GetString());
        var labels = r.GetProperty("securityLabel").EnumerateArray().Select(l => l.GetProperty("coding")[0].GetProperty("code").GetString()).ToList();
        Assert.Equal(["N", "MASQUE_PS"], labels);
        var attachment = r.GetProperty("content")[0].GetProperty("attachment");
        Assert.Equal("text/xml", attachment.GetProperty("contentType").GetString());
        Assert.Equal(body.Length, attachment.GetProperty("size").GetInt32());
        Assert.Equal(Convert.ToBase64String(SHA1.HashData(body)), attachment.GetProperty("hash").GetString());
        Assert.EndsWith($"/fhir/Binary/{doc}", attachment.GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.True(attachment.TryGetProperty("creation", out _));
        Assert.Equal("urn:ihe:iti:xds-sd:pdf:2008", r.GetProperty("content")[0].GetProperty("format").GetProperty("code").GetString());
        Assert.True(r.GetProperty("context").GetProperty("period").TryGetProperty("start", out _));
        Assert.Equal("replaces", r.GetProperty("relatesTo")[0].GetProperty("code").GetString());
        Assert.Equal($"DocumentReference/{old}", r.GetProperty("relatesTo")[0].GetProperty("target").GetProperty("reference").GetString());
        Assert.Equal("8" + AuthorRpps, r.GetProperty("contained")[0].GetProperty("identifier")[0].GetProperty("value").GetString());
        Assert.Equal("#author", r.GetProperty("author")[0].GetProperty("reference").GetString());
        Assert.Equal("CHU-X", r.GetProperty("custodian").GetProperty("identifier").GetProperty("value").GetString());
        Assert.False(string.IsNullOrEmpty(r.GetProperty("meta").GetProperty("versionId").GetString()));
    }

    [Fact]
    public async Task Retrieval_negotiates_the_original_bytes_the_pdf_body_a_binary_or_406()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var pdfCda = Corpus("ans-cisis_IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml");
        var structured = Corpus("ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml");
        var withPdf = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "18748-4", Body = pdfCda });
        var withoutPdf = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "11502-2", Body = structured });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        async Task<(HttpStatusCode Status, string? Type, byte[] Bytes)> Get(long id, string? accept)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/fhir/Binary/{id}");
            if (accept is not null)
                request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await patient.SendAsync(request);
            return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsByteArrayAsync());
        }

        var original = await Get(withPdf, null);
        Assert.Equal(HttpStatusCode.OK, original.Status);
        Assert.Equal(pdfCda, original.Bytes);
        Assert.Equal("text/xml", original.Type);
        Assert.Equal(structured, (await Get(withoutPdf, "application/xml")).Bytes);

        var pdf = await Get(withPdf, "application/pdf");
        Assert.Equal(HttpStatusCode.OK, pdf.Status);
        Assert.Equal("application/pdf", pdf.Type);
        Assert.Equal("%PDF"u8.ToArray(), pdf.Bytes[..4]);

        var noPdf = await Get(withoutPdf, "application/pdf");
        Assert.Equal(HttpStatusCode.NotAcceptable, noPdf.Status);
        Assert.Equal("application/fhir+json", noPdf.Type);
        Assert.Equal(HttpStatusCode.NotAcceptable, (await Get(withoutPdf, "image/png")).Status);

        var (binaryStatus, binary) = await patient.FhirGetAsync($"/fhir/Binary/{withoutPdf}", "application/fhir+json");
        Assert.Equal(HttpStatusCode.OK, binaryStatus);
        Assert.Equal("Binary", binary.GetProperty("resourceType").GetString());
        Assert.Equal(structured, Convert.FromBase64String(binary.GetProperty("data").GetString()!));
    }

    [Theory]
    [InlineData("&bogus=1")]
    [InlineData("&author.family:exact=X")]
    [InlineData("&date=yesterday")]
    [InlineData("&date=ne2024")]
    [InlineData("&_count=0")]
    [InlineData("&_count=1000")]
    [InlineData("&_sort=title")]
    [InlineData("&_cursor=not-a-cursor")]
    [InlineData("&status=draft")]
    [InlineData("&related=somewhere")]
    [InlineData("&patient=1")]
    public async Task Bad_or_unknown_parameters_are_400_with_an_operation_outcome(string query)
    {
        var ins = DossierSeed.NewIns();
        await Seed.PatientAsync(ins);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, body) = await patient.FhirGetAsync(DocumentsOf(ins) + query);

        IsOutcome(body, HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task Fhir_xml_is_served_on_request_by_format_or_accept_and_other_formats_are_406()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var document = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Compte rendu <XML> & co" });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        async Task<(HttpStatusCode Status, string? Type, string Body)> Get(string url, string? accept)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (accept is not null)
                request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await patient.SendAsync(request);
            return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
        }

        foreach (var (url, accept) in new[] { (DocumentsOf(ins) + "&_format=xml", (string?)null), (DocumentsOf(ins), "application/fhir+xml"), (DocumentsOf(ins), "application/json;q=0.5, application/xml") })
        {
            var (status, type, body) = await Get(url, accept);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("application/fhir+xml", type);
            var xml = System.Xml.Linq.XDocument.Parse(body);
            System.Xml.Linq.XNamespace f = "http://hl7.org/fhir";
            Assert.Equal(f + "Bundle", xml.Root!.Name);
            var reference = Assert.Single(xml.Descendants(f + "DocumentReference"));
            Assert.Equal(document.ToString(System.Globalization.CultureInfo.InvariantCulture), reference.Element(f + "id")!.Attribute("value")!.Value);
            Assert.Equal("Compte rendu <XML> & co", reference.Element(f + "description")!.Attribute("value")!.Value);
        }

        // JSON stays the default, and an error comes in the format asked for.
        Assert.Equal("application/fhir+json", (await Get(DocumentsOf(ins), "*/*")).Type);
        var (notFound, errorType, error) = await Get("/fhir/DocumentReference/999999999?_format=xml", null);
        Assert.Equal((HttpStatusCode.NotFound, "application/fhir+xml"), (notFound, errorType));
        Assert.Equal("OperationOutcome", System.Xml.Linq.XDocument.Parse(error).Root!.Name.LocalName);
        Assert.Equal(HttpStatusCode.NotAcceptable, (await Get(DocumentsOf(ins), "text/turtle")).Status);
        var (_, _, metadata) = await Get("/fhir/metadata", "application/fhir+xml");
        Assert.Contains("application/fhir+xml", metadata, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_search_without_a_patient_is_400_and_an_unknown_resource_404()
    {
        using var patient = Seed.Client(DossierSeed.PatientToken(DossierSeed.NewIns()));

        var (status, body) = await patient.FhirGetAsync("/fhir/DocumentReference?type=11502-2");
        IsOutcome(body, HttpStatusCode.BadRequest, status);
        var (unknownStatus, unknown) = await patient.FhirGetAsync("/fhir/Organization");
        IsOutcome(unknown, HttpStatusCode.NotFound, unknownStatus);
        Assert.Equal(HttpStatusCode.NotAcceptable, (await patient.FhirGetAsync(DocumentsOf(DossierSeed.NewIns()) + "&_format=turtle")).Status);
    }

    [Fact]
    public async Task Entries_are_searched_by_patient_code_and_date_with_the_api_id_and_subject()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var now = DateTimeOffset.UtcNow;
        var (tsh, _) = await Seed.ResultAsync(patientId, "3016-3", now.AddDays(-10));
        var (older, _) = await Seed.ResultAsync(patientId, "3016-3", now.AddDays(-400));
        var (glucose, _) = await Seed.ResultAsync(patientId, "2345-7", now.AddDays(-5));
        var allergy = await Seed.AllergyAsync(patientId, "91936005", now.AddDays(-100));
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, observations) = await patient.FhirGetAsync($"/fhir/Observation?patient={patientId}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([glucose, tsh, older], observations.ResourceIds("Observation"));
        var first = observations.GetProperty("entry")[0].GetProperty("resource");
        Assert.Equal($"Patient/{patientId}", first.GetProperty("subject").GetProperty("reference").GetString());
        Assert.Equal([tsh, older], (await patient.FhirGetAsync($"/fhir/Observation?patient={patientId}&code=http://loinc.org|3016-3")).Body.ResourceIds("Observation"));
        Assert.Equal([tsh], (await patient.FhirGetAsync($"/fhir/Observation?patient={patientId}&code=3016-3&date=ge{now.AddDays(-30):yyyy-MM-dd}")).Body.ResourceIds("Observation"));

        var (_, allergies) = await patient.FhirGetAsync("/fhir/AllergyIntolerance?patient.identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{ins}"));
        Assert.Equal([allergy], allergies.ResourceIds("AllergyIntolerance"));
        Assert.Equal($"Patient/{patientId}", allergies.GetProperty("entry")[0].GetProperty("resource").GetProperty("patient").GetProperty("reference").GetString());
        Assert.Empty((await patient.FhirGetAsync($"/fhir/Condition?patient={patientId}")).Body.ResourceIds("Condition"));
    }

    [Fact]
    public async Task Recent_exams_lists_the_latest_results_and_lab_and_imaging_reports_within_the_window()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var now = DateTimeOffset.UtcNow;
        // One ORU gives the recent result and its report (OBR-4 3016-3); the others' reports are out of the window or of another code.
        var (recent, report) = await Seed.ResultAsync(patientId, "3016-3", now.AddDays(-3));
        await Seed.ResultAsync(patientId, "3016-3", now.AddDays(-100));
        await Seed.ResultAsync(patientId, "2345-7", now.AddDays(-1));
        var lab = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "11502-2", CreatedAt = now.AddDays(-3) });
        await Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "11490-0", CreatedAt = now.AddDays(-3) });
        await Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "18748-4", CreatedAt = now.AddDays(-90) });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, bundle) = await patient.FhirGetAsync($"/fhir/Patient/{patientId}/$recent-exams?code=3016-3&days=30");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([recent], bundle.ResourceIds("Observation"));
        Assert.Equal([report], bundle.ResourceIds("DiagnosticReport"));
        Assert.Equal([lab], bundle.Ids());
        Assert.Equal(HttpStatusCode.BadRequest, (await patient.FhirGetAsync($"/fhir/Patient/{patientId}/$recent-exams?code=3016-3")).Status);
        // An operation on Patient/{id} is a request by id: a dossier the caller may not read answers as an absent one.
        Assert.Equal(HttpStatusCode.NotFound, (await Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps)).FhirGetAsync($"/fhir/Patient/{patientId}/$recent-exams?days=30")).Status);
    }

    [Fact]
    public async Task Patient_is_read_and_searched_by_its_ins()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins, family: "PAT-TROIS", given: "DOMINIQUE");
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, read) = await patient.FhirGetAsync($"/fhir/Patient/{patientId}");
        var (_, search) = await patient.FhirGetAsync("/fhir/Patient?identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{ins}"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(ins, read.GetProperty("identifier")[0].GetProperty("value").GetString());
        Assert.Equal("PAT-TROIS", read.GetProperty("name")[0].GetProperty("family").GetString());
        Assert.Equal([patientId], search.Ids("Patient"));
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirGetAsync("/fhir/Patient/999999999")).Status);
    }
}
