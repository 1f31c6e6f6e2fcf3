using System.Net;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>Every line of DESIGN.md's access table, through HTTP with real tokens.</summary>
public sealed class AccessRulesTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private DossierSeed Seed => fixture.Seed;

    /// <summary>
    /// A dossier with one document of each visibility. <paramref name="resultsAt"/>: the masked, hidden and deleted
    /// documents are lab reports carrying a TSH result each, an hour, two and three after it.
    /// </summary>
    private async Task<Dossier> DossierAsync(string status = "open", bool opposesEmergency = false, string? treating = null, DateTimeOffset? resultsAt = null)
    {
        DossierSeed.Doc WithResult(DossierSeed.Doc doc, int hours) =>
            resultsAt is { } at ? doc with { TypeCode = "11502-2", Results = [("3016-3", at.AddHours(hours))] } : doc;
        var ins = DossierSeed.NewIns();
        var patient = await Seed.PatientAsync(ins, status: status, opposesEmergency: opposesEmergency, treatingRpps: treating);
        var now = DateTimeOffset.UtcNow;
        var plain = await Seed.DocumentAsync(patient, new DossierSeed.Doc { CreatedAt = now.AddDays(-5), AuthorRpps = "10000000099" });
        var masked = await Seed.DocumentAsync(patient, WithResult(new DossierSeed.Doc { CreatedAt = now.AddDays(-4), Masked = true, AuthorRpps = "10000000099" }, 1));
        var maskedByAuthor = await Seed.DocumentAsync(patient, new DossierSeed.Doc { CreatedAt = now.AddDays(-3), Masked = true, AuthorRpps = AuthorRpps });
        var hidden = await Seed.DocumentAsync(patient, WithResult(new DossierSeed.Doc { CreatedAt = now.AddDays(-2), HiddenFromPatient = true, AuthorRpps = "10000000099" }, 2));
        var hiddenLongAgo = await Seed.DocumentAsync(patient, new DossierSeed.Doc { CreatedAt = now.AddDays(-60), StoredAt = now.AddDays(-40), HiddenFromPatient = true, AuthorRpps = "10000000099" });
        var deleted = await Seed.DocumentAsync(patient, WithResult(new DossierSeed.Doc { CreatedAt = now.AddDays(-1), Status = "deleted", AuthorRpps = "10000000099" }, 3));
        return new Dossier(ins, patient, plain, masked, maskedByAuthor, hidden, hiddenLongAgo, deleted);
    }

    private sealed record Dossier(string Ins, long Patient, long Plain, long Masked, long MaskedByAuthor, long Hidden, long HiddenLongAgo, long Deleted)
    {
        public string Search => DocumentsOf(Ins);
    }

    [Fact]
    public async Task The_patient_reads_their_dossier_with_masked_documents_but_not_those_hidden_from_them_until_the_delay()
    {
        var d = await DossierAsync();
        using var patient = Seed.Client(DossierSeed.PatientToken(d.Ins));

        var (status, bundle) = await patient.FhirGetAsync(d.Search);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("searchset", bundle.GetProperty("type").GetString());
        Assert.Equal([d.MaskedByAuthor, d.Masked, d.Plain, d.HiddenLongAgo], bundle.Ids());
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirGetAsync($"/fhir/DocumentReference/{d.Masked}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirGetAsync($"/fhir/DocumentReference/{d.Hidden}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirGetAsync($"/fhir/Binary/{d.Hidden}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirGetAsync($"/fhir/DocumentReference/{d.Deleted}")).Status);
    }

    [Fact]
    public async Task Another_patient_gets_403_on_searches_and_404_on_reads_by_id()
    {
        var d = await DossierAsync();
        using var other = Seed.Client(DossierSeed.PatientToken(DossierSeed.NewIns()));

        var (status, body) = await other.FhirGetAsync(d.Search);
        IsOutcome(body, HttpStatusCode.Forbidden, status);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.FhirGetAsync($"/fhir/DocumentReference?patient={d.Patient}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.FhirGetAsync($"/fhir/DocumentReference/{d.Plain}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.FhirGetAsync($"/fhir/Patient/{d.Patient}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.FhirGetAsync($"/fhir/Observation?patient={d.Patient}")).Status);
    }

    [Fact]
    public async Task A_professional_who_is_not_authorised_gets_403()
    {
        var d = await DossierAsync();
        using var stranger = Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps, "CHU-X"));

        var (status, body) = await stranger.FhirGetAsync(d.Search);

        IsOutcome(body, HttpStatusCode.Forbidden, status);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.FhirGetAsync($"/fhir/DocumentReference/{d.Plain}")).Status);
    }

    [Fact]
    public async Task An_authorised_professional_sees_the_open_dossier_and_hidden_documents_but_no_masked_one_except_their_own()
    {
        var d = await DossierAsync();
        await Seed.AuthorizeAsync(d.Patient, AuthorisedRpps);
        await Seed.AuthorizeAsync(d.Patient, AuthorRpps);
        using var authorised = Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));
        using var author = Seed.Client(DossierSeed.ProfessionalToken(AuthorRpps));

        var (status, bundle) = await authorised.FhirGetAsync(d.Search);
        var (_, byAuthor) = await author.FhirGetAsync(d.Search);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([d.Hidden, d.Plain, d.HiddenLongAgo], bundle.Ids());
        Assert.Equal([d.Hidden, d.MaskedByAuthor, d.Plain, d.HiddenLongAgo], byAuthor.Ids());
        Assert.Equal(HttpStatusCode.NotFound, (await authorised.FhirGetAsync($"/fhir/DocumentReference/{d.Masked}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await authorised.FhirGetAsync($"/fhir/Binary/{d.MaskedByAuthor}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await author.FhirGetAsync($"/fhir/DocumentReference/{d.MaskedByAuthor}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await author.FhirGetAsync($"/fhir/DocumentReference/{d.Masked}")).Status);
    }

    [Fact]
    public async Task A_professional_of_an_organisation_whose_adt_recorded_consent_reads_the_dossier()
    {
        var d = await DossierAsync();
        await Seed.FacilityChoiceAsync(d.Patient, "CHU-X", consentsConsultation: true);
        await Seed.FacilityChoiceAsync(d.Patient, "CLINIQUE-Y", consentsConsultation: false);
        using var member = Seed.Client(DossierSeed.ProfessionalToken(OrgMemberRpps, "CHU-X"));
        using var refused = Seed.Client(DossierSeed.ProfessionalToken(OrgMemberRpps, "CLINIQUE-Y"));
        using var noOrg = Seed.Client(DossierSeed.ProfessionalToken(OrgMemberRpps));

        var (status, bundle) = await member.FhirGetAsync(d.Search);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([d.Hidden, d.Plain, d.HiddenLongAgo], bundle.Ids());
        Assert.Equal(HttpStatusCode.Forbidden, (await refused.FhirGetAsync(d.Search)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await noOrg.FhirGetAsync(d.Search)).Status);
    }

    [Fact]
    public async Task The_treating_physician_sees_everything_including_masked_documents()
    {
        var d = await DossierAsync(treating: TreatingRpps);
        using var treating = Seed.Client(DossierSeed.ProfessionalToken(TreatingRpps));

        var (status, bundle) = await treating.FhirGetAsync(d.Search);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([d.Hidden, d.MaskedByAuthor, d.Masked, d.Plain, d.HiddenLongAgo], bundle.Ids());
        using var content = await treating.GetAsync($"/fhir/Binary/{d.Masked}");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
    }

    [Fact]
    public async Task Emergency_access_reads_an_open_dossier_without_masked_documents_unless_the_patient_opposed_it()
    {
        var d = await DossierAsync();
        var opposed = await DossierAsync(opposesEmergency: true);
        using var emergency = Seed.Client(DossierSeed.ProfessionalToken(AuthorRpps), "patient inconscient aux urgences");
        using var noReason = Seed.Client(DossierSeed.ProfessionalToken(AuthorRpps), "   ");

        var (status, bundle) = await emergency.FhirGetAsync(d.Search);
        var (opposedStatus, opposedBody) = await emergency.FhirGetAsync(opposed.Search);

        Assert.Equal(HttpStatusCode.OK, status);
        // Masked documents stay hidden in an emergency, even from their author (our stricter choice).
        Assert.Equal([d.Hidden, d.Plain, d.HiddenLongAgo], bundle.Ids());
        IsOutcome(opposedBody, HttpStatusCode.Forbidden, opposedStatus);
        Assert.Equal(HttpStatusCode.Forbidden, (await noReason.FhirGetAsync(d.Search)).Status);
    }

    [Fact]
    public async Task A_closed_dossier_refuses_every_professional_even_in_emergency_and_the_patient_still_reads_it()
    {
        var d = await DossierAsync(status: "closed", treating: TreatingRpps);
        await Seed.AuthorizeAsync(d.Patient, AuthorisedRpps);
        using var patient = Seed.Client(DossierSeed.PatientToken(d.Ins));

        Assert.Equal(HttpStatusCode.Forbidden, (await Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps)).FhirGetAsync(d.Search)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Seed.Client(DossierSeed.ProfessionalToken(TreatingRpps)).FhirGetAsync(d.Search)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps), "urgence vitale").FhirGetAsync(d.Search)).Status);
        var (status, bundle) = await patient.FhirGetAsync(d.Search);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(4, bundle.Ids().Count);
    }

    [Fact]
    public async Task Operators_have_no_fhir_access_and_anonymous_callers_only_metadata()
    {
        var d = await DossierAsync();
        using var op = Seed.Client(DossierSeed.OperatorToken());

        var (status, body) = await op.FhirGetAsync(d.Search);
        IsOutcome(body, HttpStatusCode.Forbidden, status);
        Assert.Equal(HttpStatusCode.NotFound, (await op.FhirGetAsync($"/fhir/DocumentReference/{d.Plain}")).Status);

        var anonymous = fixture.Gateway.Anonymous;
        var (anonymousStatus, anonymousBody) = await anonymous.FhirGetAsync(d.Search);
        IsOutcome(anonymousBody, HttpStatusCode.Unauthorized, anonymousStatus);
        var (metaStatus, metadata) = await anonymous.FhirGetAsync("/fhir/metadata");
        Assert.Equal(HttpStatusCode.OK, metaStatus);
        Assert.Equal("CapabilityStatement", metadata.GetProperty("resourceType").GetString());
        var types = metadata.GetProperty("rest")[0].GetProperty("resource").EnumerateArray().Select(r => r.GetProperty("type").GetString()).ToList();
        Assert.Contains("DocumentReference", types);
        Assert.DoesNotContain("Organization", types);
    }

    [Fact]
    public async Task Deleted_documents_are_served_to_nobody_not_even_by_status()
    {
        var d = await DossierAsync(treating: TreatingRpps);
        foreach (var token in new[] { DossierSeed.PatientToken(d.Ins), DossierSeed.ProfessionalToken(TreatingRpps) })
        {
            using var client = Seed.Client(token);
            var (_, all) = await client.FhirGetAsync(d.Search + "&status=current,superseded,entered-in-error");
            Assert.DoesNotContain(d.Deleted, all.Ids());
            Assert.Equal(HttpStatusCode.NotFound, (await client.FhirGetAsync($"/fhir/DocumentReference/{d.Deleted}")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await client.FhirGetAsync($"/fhir/Binary/{d.Deleted}")).Status);
        }
    }

    [Fact]
    public async Task A_merged_patient_resolves_to_the_survivor()
    {
        var survivorIns = DossierSeed.NewIns();
        var survivor = await Seed.PatientAsync(survivorIns);
        var document = await Seed.DocumentAsync(survivor);
        var merged = await Seed.PatientAsync(DossierSeed.NewIns(), withDossier: false, mergedInto: survivor);
        using var patient = Seed.Client(DossierSeed.PatientToken(survivorIns));

        var (status, bundle) = await patient.FhirGetAsync($"/fhir/DocumentReference?patient=Patient/{merged}");
        var (readStatus, read) = await patient.FhirGetAsync($"/fhir/Patient/{merged}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([document], bundle.Ids());
        Assert.Equal(HttpStatusCode.OK, readStatus);
        Assert.Equal(survivor.ToString(System.Globalization.CultureInfo.InvariantCulture), read.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Entries_of_a_document_the_caller_may_not_see_are_left_out()
    {
        // The results arrive in the documents' bodies (masked, hidden, deleted) and, free of any document, in an ORU.
        var effective = DateTimeOffset.UtcNow.AddDays(-3);
        var d = await DossierAsync(resultsAt: effective);
        await Seed.AuthorizeAsync(d.Patient, AuthorisedRpps);
        var (free, _) = await Seed.ResultAsync(d.Patient, "3016-3", effective);
        var fromMasked = Assert.Single(await Seed.EntriesOfAsync(d.Masked, "Observation"));
        var fromHidden = Assert.Single(await Seed.EntriesOfAsync(d.Hidden, "Observation"));
        var fromDeleted = Assert.Single(await Seed.EntriesOfAsync(d.Deleted, "Observation"));

        var (_, forPatient) = await Seed.Client(DossierSeed.PatientToken(d.Ins)).FhirGetAsync($"/fhir/Observation?patient={d.Patient}");
        var (_, forProfessional) = await Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps)).FhirGetAsync($"/fhir/Observation?patient={d.Patient}");

        Assert.Equal([fromMasked, free], forPatient.ResourceIds("Observation"));
        Assert.Equal([fromHidden, free], forProfessional.ResourceIds("Observation"));
        Assert.DoesNotContain(fromDeleted, forPatient.ResourceIds("Observation"));
    }
}
