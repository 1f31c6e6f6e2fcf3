using System.Net;
using System.Text;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>The patient's rights (and a professional's $unhide) through HTTP, and what they change for others.</summary>
public sealed class PatientRightsTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private DossierSeed Seed => fixture.Seed;

    private static string Professional(string rpps, bool treating = false) =>
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"rpps\",\"valueString\":\"" + rpps + "\"}" +
        (treating ? ",{\"name\":\"treating\",\"valueBoolean\":true}" : "") + "]}";

    [Fact]
    public async Task The_patient_masks_and_unmasks_a_document_from_professionals()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var doc = await Seed.DocumentAsync(patientId);
        await Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        using var professional = Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));

        var (maskStatus, masked) = await patient.FhirPostAsync($"/fhir/DocumentReference/{doc}/$mask");
        Assert.Equal(HttpStatusCode.OK, maskStatus);
        Assert.Contains(masked.GetProperty("securityLabel").EnumerateArray(), l => l.GetProperty("coding")[0].GetProperty("code").GetString() == "MASQUE_PS");
        Assert.Empty((await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
        Assert.Equal(HttpStatusCode.NotFound, (await professional.FhirGetAsync($"/fhir/DocumentReference/{doc}")).Status);
        Assert.Equal([doc], (await patient.FhirGetAsync(DocumentsOf(ins))).Body.Ids());

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/DocumentReference/{doc}/$unmask")).Status);
        Assert.Equal([doc], (await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
    }

    [Fact]
    public async Task A_json_patch_of_security_label_masks_as_pdsm_does()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var doc = await Seed.DocumentAsync(patientId);
        await Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        var (_, before) = await patient.FhirGetAsync($"/fhir/DocumentReference/{doc}");
        var version = before.GetProperty("meta").GetProperty("versionId").GetString();

        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/fhir/DocumentReference/{doc}")
        {
            Content = new StringContent(
                """[{"op":"add","path":"/securityLabel/-","value":{"coding":[{"system":"urn:oid:1.2.250.1.213.1.1.4.13","code":"MASQUE_PS"}]}}]""",
                Encoding.UTF8, "application/json-patch+json"),
        };
        using var response = await patient.SendAsync(patch);
        var after = await BodyAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(version, after.GetProperty("meta").GetProperty("versionId").GetString());
        Assert.Empty((await Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps)).FhirGetAsync(DocumentsOf(ins))).Body.Ids());

        using var confidentiality = new HttpRequestMessage(HttpMethod.Patch, $"/fhir/DocumentReference/{doc}")
        {
            Content = new StringContent("""[{"op":"remove","path":"/securityLabel/0"}]""", Encoding.UTF8, "application/json-patch+json"),
        };
        using var refused = await patient.SendAsync(confidentiality);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
    }

    [Fact]
    public async Task The_patient_deletes_a_document_and_it_is_gone_from_every_view()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins, treatingRpps: TreatingRpps);
        var doc = await Seed.DocumentAsync(patientId);
        var kept = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { CreatedAt = DateTimeOffset.UtcNow.AddDays(-1) });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        using var treating = Seed.Client(DossierSeed.ProfessionalToken(TreatingRpps));

        Assert.Equal(HttpStatusCode.Forbidden, (await treating.DeleteAsync($"/fhir/DocumentReference/{doc}")).StatusCode);
        using var deleted = await patient.DeleteAsync($"/fhir/DocumentReference/{doc}");

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal([kept], (await patient.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
        Assert.Equal([kept], (await treating.FhirGetAsync(DocumentsOf(ins) + "&status=entered-in-error,current")).Body.Ids());
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirGetAsync($"/fhir/DocumentReference/{doc}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await patient.DeleteAsync($"/fhir/DocumentReference/{doc}")).StatusCode);
    }

    [Fact]
    public async Task The_patient_closes_and_reopens_their_dossier()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        await Seed.DocumentAsync(patientId);
        await Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        using var professional = Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));

        var (closeStatus, closed) = await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$close");
        Assert.Equal(HttpStatusCode.OK, closeStatus);
        Assert.Equal("closed", closed.GetProperty("parameter")[0].GetProperty("valueCode").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Single((await patient.FhirGetAsync(DocumentsOf(ins))).Body.Ids());

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$reopen")).Status);
        Assert.Single((await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
    }

    [Fact]
    public async Task The_patient_authorises_revokes_and_names_the_treating_physician()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var masked = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { Masked = true, AuthorRpps = "10000000099" });
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        using var professional = Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps));

        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$authorize", Professional(StrangerRpps))).Status);
        var (_, authorised) = await professional.FhirGetAsync(DocumentsOf(ins));
        Assert.Empty(authorised.Ids());

        var (treatingStatus, state) = await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$authorize", Professional(StrangerRpps, treating: true));
        Assert.Equal(HttpStatusCode.OK, treatingStatus);
        Assert.Contains(state.GetProperty("parameter").EnumerateArray(), p => p.GetProperty("name").GetString() == "treating-rpps");
        Assert.Equal([masked], (await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids());

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$revoke", Professional(StrangerRpps))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);

        Assert.Equal(HttpStatusCode.BadRequest, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$authorize", Professional("12AB"))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$authorize", "not json")).Status);
    }

    [Fact]
    public async Task The_patient_opposes_then_allows_emergency_access()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        await Seed.DocumentAsync(patientId);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        using var emergency = Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps), "d%C3%A9tresse respiratoire");

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$oppose-emergency")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await emergency.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$allow-emergency")).Status);
        Assert.Single((await emergency.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
    }

    [Fact]
    public async Task Only_the_patient_exercises_rights_and_only_an_authorised_professional_unhides()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var hidden = await Seed.DocumentAsync(patientId, new DossierSeed.Doc { HiddenFromPatient = true });
        await Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        using var other = Seed.Client(DossierSeed.PatientToken(DossierSeed.NewIns()));
        using var professional = Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));
        using var emergency = Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps), "urgence");

        // Another patient cannot tell this dossier from one that does not exist; the authorised professional reads it, so is told why.
        Assert.Equal(HttpStatusCode.NotFound, (await other.FhirPostAsync($"/fhir/Patient/{patientId}/$close")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirPostAsync($"/fhir/Patient/{patientId}/$close")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirPostAsync($"/fhir/DocumentReference/{hidden}/$mask")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.FhirPostAsync($"/fhir/DocumentReference/{hidden}/$mask")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirPostAsync($"/fhir/DocumentReference/{hidden}/$unhide")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await emergency.FhirPostAsync($"/fhir/DocumentReference/{hidden}/$unhide")).Status);
        Assert.Empty((await patient.FhirGetAsync(DocumentsOf(ins))).Body.Ids());

        Assert.Equal(HttpStatusCode.OK, (await professional.FhirPostAsync($"/fhir/DocumentReference/{hidden}/$unhide")).Status);

        Assert.Equal([hidden], (await patient.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
        Assert.Equal(HttpStatusCode.Forbidden, (await patient.FhirPostAsync($"/fhir/DocumentReference/{hidden}/$unhide")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirPostAsync($"/fhir/DocumentReference/{hidden}/$frobnicate")).Status);
    }
}
