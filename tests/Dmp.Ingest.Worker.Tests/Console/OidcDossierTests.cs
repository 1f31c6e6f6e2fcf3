using System.Text.RegularExpressions;
using Dapper;
using Dmp.Ingest.Worker.Tests.Fhir;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// Issue 19's whole path through a real OIDC provider, in Chromium: a patient signs in at the provider, reads a
/// discharge summary and masks it; a professional signs in at the same provider, finds the patient by INS and reads the
/// dossier in an emergency, without the masked document; the patient then sees that access in the trail with its reason.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class OidcDossierTests(OidcConsoleFixture fixture) : IClassFixture<OidcConsoleFixture>
{
    private const string Reason = "Malaise à l'accueil des urgences, traitement en cours à vérifier";

    [Fact]
    public async Task A_patient_signed_in_by_OIDC_masks_a_discharge_summary_and_sees_a_professionals_emergency_access_with_its_reason()
    {
        var ins = OidcConsoleFixture.PatientIns;
        var seed = new DossierSeed(fixture.Gateway);
        var patientId = await seed.PatientAsync(ins, "DUPONT", "JEAN");
        var discharge = await seed.DocumentAsync(patientId, new DossierSeed.Doc { Body = DossierBrowserFixture.DischargeSummary(ins), TypeCode = "11490-0" });
        var letter = await seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Compte rendu de consultation", AuthorRpps = "10000000499" });

        // The patient, through the provider's login and consent pages: their dossier, the discharge summary, masked.
        var patient = await fixture.NewPageAsync();
        await fixture.SignInWithOidcAsync(patient, "pat-oidc");
        await patient.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.EndsWith("/console/dossier", patient.Url, StringComparison.Ordinal);
        await patient.Locator($"tr[data-document='{discharge}'] a").ClickAsync();
        await patient.WaitForURLAsync(new Regex($"/console/dossier/documents/{discharge}$"));
        Assert.Contains("Lettre de liaison", await patient.Locator("h1").InnerTextAsync(), StringComparison.Ordinal);
        await patient.Locator("[data-testid=mask]").ClickAsync();
        await patient.WaitForURLAsync(new Regex("done=mask"));
        Assert.Equal(1, await patient.Locator("[data-testid=masked]").CountAsync());
        await seed.WriteAsync(async (c, t) => Assert.Equal(1L, await c.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM document WHERE id = @Id AND masked = 1;", new { Id = discharge }, t)));

        // The professional, through the same provider: not authorised, so an emergency access with a stated reason;
        // the masked discharge summary stays out of it, the other document is there.
        var professional = await fixture.NewPageAsync();
        await fixture.SignInWithOidcAsync(professional, "pro-oidc");
        await professional.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.EndsWith("/console/patients", professional.Url, StringComparison.Ordinal);
        await professional.Locator("#ins").FillAsync(ins);
        await professional.Locator("[data-testid=find]").ClickAsync();
        await professional.WaitForURLAsync(new Regex("ins=" + ins));
        await professional.Locator("[data-testid=open-dossier]").ClickAsync();
        await professional.WaitForURLAsync(new Regex($"/console/patients/{patientId}$"));
        Assert.Contains("The patient will see this access and your reason", await professional.Locator("[data-testid=emergency-form]").InnerTextAsync(), StringComparison.Ordinal);
        await professional.Locator("#reason").FillAsync(Reason);
        await professional.Locator("[data-testid=break-glass]").ClickAsync();
        await professional.WaitForSelectorAsync("[data-testid=emergency-banner]");
        var shown = await ConsoleChromium.DocumentsShownAsync(professional);
        Assert.Equal([letter], shown);

        // Back to the patient: the emergency access is in the trail, highlighted, with who and why.
        await patient.GotoAsync(fixture.BaseUrl + "/console/dossier/trail");
        var emergency = patient.Locator("[data-testid=trail] tr.emergency");
        Assert.True(await emergency.CountAsync() >= 1, "no emergency access in the patient's trail");
        var row = await emergency.First.InnerTextAsync();
        Assert.Contains(Reason, row, StringComparison.Ordinal);
        Assert.Contains(OidcConsoleFixture.ProfessionalRpps, row, StringComparison.Ordinal);
        await ConsoleChromium.AssertAccessibleAsync(patient, "oidc-trail");
    }
}
