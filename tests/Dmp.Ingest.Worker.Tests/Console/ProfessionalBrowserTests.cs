using System.Net;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Tests.Fhir;
using Microsoft.Playwright;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// The professionals' console in Chromium: finding a patient by INS (an audited existence check), the dossier exactly as the
/// access table allows (authorised, treating physician, author, stranger, closed, emergency with a reason the patient reads),
/// and the recent exams check. What the console shows is compared with what the FHIR API serves the same professional.
/// </summary>
[Trait("Tier", "Slow")]
[Collection(DossierConsoleCollection.Name)]
public sealed class ProfessionalBrowserTests(DossierBrowserFixture fixture)
{
    private const string AuthorRpps = "10000000401";
    private const string AuthorisedRpps = "10000000402";
    private const string TreatingRpps = "10000000403";
    private const string StrangerRpps = "10000000404";

    [Fact]
    public async Task Each_professional_sees_exactly_what_the_access_table_allows_and_the_same_as_the_API()
    {
        var (ins, patientId) = await fixture.PatientAsync("LEROY", "CLAIRE");
        var plain = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Lettre", AuthorRpps = "10000000499" });
        var masked = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Masqué", Masked = true, AuthorRpps = AuthorRpps });
        var hidden = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "18748-4", Title = "Scanner", HiddenFromPatient = true, AuthorRpps = "10000000499" });
        await fixture.Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        await fixture.Seed.AuthorizeAsync(patientId, AuthorRpps);
        using (var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins)))
        {
            var (status, _) = await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$authorize",
                $$"""{"resourceType":"Parameters","parameter":[{"name":"rpps","valueString":"{{TreatingRpps}}"},{"name":"treating","valueBoolean":true}]}""");
            Assert.Equal(HttpStatusCode.OK, status);
        }

        foreach (var (rpps, expected) in new (string, long[])[]
        {
            (AuthorisedRpps, [plain, hidden]),        // authorised: no masked document; hidden-from-patient ones yes
            (AuthorRpps, [plain, masked, hidden]),    // the masked document's own author sees it
            (TreatingRpps, [plain, masked, hidden]),  // the treating physician sees everything
        })
        {
            var session = await fixture.OpenAsync();
            var page = session.Page;
            await fixture.SignInAsync(page, DmpClaims.Professional, rpps: rpps);
            await page.GotoAsync(fixture.BaseUrl + $"/console/patients/{patientId}");
            var shown = (await ConsoleChromium.DocumentsShownAsync(page)).Order().ToList();

            Assert.Equal(expected.Order().ToList(), shown);
            using var api = fixture.Seed.Client(DossierSeed.ProfessionalToken(rpps));
            Assert.Equal(shown, (await api.FhirGetAsync(DocumentsOf(ins))).Body.Ids().Order().ToList());
            Assert.Equal(1, await page.Locator($"tr[data-document='{hidden}'] [data-testid=hidden]").CountAsync());
            if (!expected.Contains(masked))
            {
                // Not even by its id: the viewer answers as for a document that does not exist.
                var byId = await page.GotoAsync(fixture.BaseUrl + $"/console/dossier/documents/{masked}");
                Assert.Equal(404, byId!.Status);
            }
            else
            {
                await page.Locator($"tr[data-document='{masked}'] a").ClickAsync();
                await page.WaitForURLAsync(new Regex($"/console/dossier/documents/{masked}$"));
                Assert.Equal(0, await page.Locator("[data-testid=mask], [data-testid=delete-link]").CountAsync()); // rights are the patient's
            }
            Assert.All(session.Problems, p => Assert.Contains("404", p, StringComparison.Ordinal));
        }

        // A stranger is refused, and so is everyone once the patient closes the dossier.
        var stranger = await fixture.OpenAsync();
        await fixture.SignInAsync(stranger.Page, DmpClaims.Professional, rpps: StrangerRpps);
        var refused = await stranger.Page.GotoAsync(fixture.BaseUrl + $"/console/patients/{patientId}");
        Assert.Equal(403, refused!.Status);
        Assert.Contains("not authorised", await stranger.Page.Locator("[data-testid=refused]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await stranger.Page.Locator("[data-testid=documents]").CountAsync());

        using (var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins)))
            Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$close")).Status);
        var treating = await fixture.OpenAsync();
        await fixture.SignInAsync(treating.Page, DmpClaims.Professional, rpps: TreatingRpps);
        var closed = await treating.Page.GotoAsync(fixture.BaseUrl + $"/console/patients/{patientId}");
        Assert.Equal(403, closed!.Status);
        Assert.Contains("closed", await treating.Page.Locator("[data-testid=refused]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await treating.Page.Locator("[data-testid=documents]").CountAsync());
        // Even in an emergency.
        await treating.Page.Locator("#reason").FillAsync("arrêt cardiaque");
        var posted = await treating.Page.RunAndWaitForResponseAsync(() => treating.Page.Locator("[data-testid=break-glass]").ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.EndsWith($"/console/patients/{patientId}", StringComparison.Ordinal));
        await treating.Page.WaitForLoadStateAsync();
        Assert.Equal(403, posted.Status);
        Assert.Equal(0, await treating.Page.Locator("[data-testid=documents]").CountAsync());
        Assert.Contains("closed", await treating.Page.Locator("[data-testid=refused]").InnerTextAsync(), StringComparison.Ordinal);
        await ConsoleChromium.AssertAccessibleAsync(treating.Page, "professional-closed");
    }

    [Fact]
    public async Task Finding_a_patient_by_INS_is_an_audited_existence_check_and_an_emergency_access_reaches_the_patients_trail_with_its_reason()
    {
        var (ins, patientId) = await fixture.PatientAsync("BERNARD", "LUC");
        var plain = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Lettre", AuthorRpps = "10000000499" });
        var masked = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Masqué", Masked = true, AuthorRpps = StrangerRpps });
        var hidden = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "18748-4", Title = "Scanner", HiddenFromPatient = true, AuthorRpps = "10000000499" });
        const string Reason = "Patient inconscient aux urgences, allergies à vérifier";
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Professional, rpps: StrangerRpps);
        await page.GotoAsync(fixture.BaseUrl + "/console/");
        Assert.EndsWith("/console/patients", page.Url, StringComparison.Ordinal);
        var nav = await page.Locator("header nav").InnerTextAsync();
        Assert.Contains("Find a patient", nav, StringComparison.Ordinal);
        Assert.DoesNotContain("Messages", nav, StringComparison.Ordinal);

        // An INS nobody has: said so, and audited among the events without a dossier.
        await page.Locator("#ins").FillAsync(DossierSeed.NewIns());
        await page.Locator("[data-testid=find]").ClickAsync();
        await page.WaitForURLAsync(new Regex("ins="));
        Assert.Contains("No dossier", await page.Locator("[data-testid=find-result]").InnerTextAsync(), StringComparison.Ordinal);

        await page.Locator("#ins").FillAsync(ins);
        await page.Locator("[data-testid=find]").ClickAsync();
        await page.WaitForURLAsync(new Regex("ins=" + ins));
        Assert.Contains("may not read it", await page.Locator("[data-testid=find-result]").InnerTextAsync(), StringComparison.Ordinal);
        await ConsoleChromium.AssertAccessibleAsync(page, "professional-search");
        await page.Locator("[data-testid=open-dossier]").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/console/patients/{patientId}$"));

        var warning = await page.Locator("[data-testid=emergency-form]").InnerTextAsync();
        Assert.Contains("The patient will see this access and your reason", warning, StringComparison.Ordinal);
        Assert.Equal("", await page.Locator("#reason").GetAttributeAsync("required"));
        await ConsoleChromium.AssertAccessibleAsync(page, "professional-refused");
        await page.Locator("#reason").FillAsync(Reason);
        await page.Locator("[data-testid=break-glass]").ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=emergency-banner]");

        Assert.Contains(Reason, await page.Locator("[data-testid=emergency-banner]").InnerTextAsync(), StringComparison.Ordinal);
        var shown = (await ConsoleChromium.DocumentsShownAsync(page)).Order().ToList();
        // Emergency: masked documents stay hidden, even from their author; one hidden from the patient is shown, marked.
        Assert.Equal(new[] { plain, hidden }.Order().ToList(), shown);
        Assert.Equal(1, await page.Locator($"tr[data-document='{hidden}'] [data-testid=hidden]").CountAsync());
        // An HTTP header is ASCII: the API takes an accented reason percent-encoded (UTF-8).
        using (var api = fixture.Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps), Uri.EscapeDataString(Reason)))
            Assert.Equal(shown, (await api.FhirGetAsync(DocumentsOf(ins))).Body.Ids().Order().ToList());
        Assert.DoesNotContain(masked, shown);
        await DossierBrowserFixture.ScreenshotAsync(page, "professional-emergency");
        await ConsoleChromium.AssertAccessibleAsync(page, "professional-emergency");
        Assert.All(session.Problems, p => Assert.Contains("403", p, StringComparison.Ordinal)); // the refused page before the emergency

        // The patient reads it in their trail: highlighted, with the reason, as the API says it.
        var patientSession = await fixture.OpenAsync();
        await fixture.SignInAsync(patientSession.Page, DmpClaims.Patient, ins: ins);
        await patientSession.Page.GotoAsync(fixture.BaseUrl + "/console/dossier/trail");
        var emergencyRows = patientSession.Page.Locator("[data-testid=trail] tr.emergency");
        Assert.True(await emergencyRows.CountAsync() >= 1);
        var row = await emergencyRows.First.InnerTextAsync();
        Assert.Contains(Reason, row, StringComparison.Ordinal);
        Assert.Contains(StrangerRpps, row, StringComparison.Ordinal);
        Assert.Contains("Emergency access", row, StringComparison.Ordinal);
        await DossierBrowserFixture.ScreenshotAsync(patientSession.Page, "dossier-trail-emergency");
        await ConsoleChromium.AssertAccessibleAsync(patientSession.Page, "trail-emergency");

        using var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins));
        var trail = await DossierBrowserTests.TrailAsync(patient, ins);
        Assert.Contains(trail, e => e.Purpose == "BTG" && e.Reason == Reason && e.AgentId is { } who && who.EndsWith(StrangerRpps, StringComparison.Ordinal));
        // The INS search was audited in the dossier, as the API's existence check is (refused: not authorised).
        Assert.Contains(trail, e => e.Action == "search" && e.Entity == "Patient" && e.AgentId is { } who && who.EndsWith(StrangerRpps, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Under_emergency_access_a_listed_document_and_its_pdf_open_each_read_traced_with_the_reason()
    {
        var (ins, patientId) = await fixture.PatientAsync("MOREAU", "ANNE");
        var report = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Body = DossierBrowserFixture.EmbeddedPdfReport(ins), TypeCode = "18748-4", AuthorRpps = "10000000499" });
        const string Reason = "Détresse respiratoire aux urgences, compte rendu d'imagerie à lire";
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Professional, rpps: StrangerRpps);
        var viewerUrl = $"{fixture.BaseUrl}/console/dossier/documents/{report}";
        // Not authorised: the viewer answers as for a document that does not exist, and so does its PDF.
        Assert.Equal(404, (await page.GotoAsync(viewerUrl))!.Status);
        Assert.Equal(404, (await page.Context.APIRequest.GetAsync(viewerUrl + "/pdf")).Status);

        await page.GotoAsync($"{fixture.BaseUrl}/console/patients/{patientId}");
        await page.Locator("#reason").FillAsync(Reason);
        await page.Locator("[data-testid=break-glass]").ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=emergency-banner]");
        await ConsoleChromium.AssertAccessibleAsync(page, "professional-emergency-list");

        // The listed document opens (a POST carrying the reason), under a banner that repeats it.
        var listed = page.Locator($"tr[data-document='{report}'] [data-testid=emergency-open]");
        var type = await listed.InnerTextAsync();
        await listed.ClickAsync();
        await page.WaitForURLAsync(new Regex($"/console/dossier/documents/{report}$"));
        await page.WaitForSelectorAsync("[data-testid=document-type]");
        Assert.Contains(Reason, await page.Locator("[data-testid=emergency-banner]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(type, await page.Locator("[data-testid=document-type]").InnerTextAsync());
        Assert.NotEqual("—", await page.Locator("[data-testid=author]").InnerTextAsync());
        // No embedded object (its GET carries no reason): a button posts the reason for the PDF.
        Assert.Equal(0, await page.Locator("object[data-testid=pdf]").CountAsync());
        Assert.True(await page.Locator("[data-testid=emergency-pdf]").IsVisibleAsync());
        await DossierBrowserFixture.ScreenshotAsync(page, "professional-emergency-document");
        await ConsoleChromium.AssertAccessibleAsync(page, "professional-emergency-document");

        // The button's request as the browser sends it (a PDF opens in a tab the headless browser cannot show): the form's
        // fields, its antiforgery token included, with the session's cookies.
        var form = page.Locator("form[data-testid=emergency-pdf-form]");
        Assert.Equal($"/console/dossier/documents/{report}/pdf", await form.GetAttributeAsync("action"));
        var fields = new Dictionary<string, string>();
        foreach (var input in await form.Locator("input[type=hidden]").AllAsync())
            fields[(await input.GetAttributeAsync("name"))!] = (await input.GetAttributeAsync("value")) ?? "";
        Assert.Equal(Reason, fields["Reason"]);
        var pdf = await page.Context.APIRequest.PostAsync(viewerUrl + "/pdf", new() { Form = FormOf(page, fields) });
        Assert.Equal(200, pdf.Status);
        Assert.Equal("application/pdf", pdf.Headers["content-type"]);
        Assert.Equal("%PDF", System.Text.Encoding.ASCII.GetString((await pdf.BodyAsync())[..4]));
        // Without a reason, or without the token, nothing.
        Assert.Equal(404, (await page.Context.APIRequest.PostAsync(viewerUrl + "/pdf", new() { Form = FormOf(page, new(fields) { ["Reason"] = " " }) })).Status);
        Assert.True(fields.Remove("__antiforgery"), "the form carries its antiforgery token");
        Assert.Equal(400, (await page.Context.APIRequest.PostAsync(viewerUrl + "/pdf", new() { Form = FormOf(page, fields) })).Status);

        // The patient's trail: the read and the retrieval, each with the professional and the reason.
        using var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins));
        var trail = await DossierBrowserTests.TrailAsync(patient, ins);
        foreach (var action in new[] { "read", "retrieve" })
            Assert.Contains(trail, e => e.Action == action && e.Entity == $"DocumentReference/{report}" && e.Purpose == "BTG" && e.Reason == Reason
                && e.AgentId is { } who && who.EndsWith(StrangerRpps, StringComparison.Ordinal));
        // Only the refused viewer (404) and the refused dossier (403) before the emergency.
        Assert.All(session.Problems, p => Assert.Matches("status of 40[34]", p));
    }

    private static IFormData FormOf(IPage page, Dictionary<string, string> fields)
    {
        var form = page.Context.APIRequest.CreateFormData();
        foreach (var (name, value) in fields)
            form.Set(name, value);
        return form;
    }

    [Fact]
    public async Task Opposed_emergency_access_is_refused_through_the_form()
    {
        var (ins, patientId) = await fixture.PatientAsync("PETIT", "JULES");
        await fixture.Seed.DocumentAsync(patientId);
        using (var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins)))
            Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$oppose-emergency")).Status);
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Professional, rpps: StrangerRpps);
        await page.GotoAsync(fixture.BaseUrl + $"/console/patients/{patientId}");

        await page.Locator("#reason").FillAsync("urgence vitale");
        var posted = await page.RunAndWaitForResponseAsync(() => page.Locator("[data-testid=break-glass]").ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.EndsWith($"/console/patients/{patientId}", StringComparison.Ordinal));
        await page.WaitForLoadStateAsync();

        Assert.True(posted.Status == 403, $"the emergency form answered {posted.Status}: {await page.ContentAsync()}");
        Assert.Contains("opposed emergency access", await page.Locator("[data-testid=refused]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("[data-testid=documents]").CountAsync());
        using var api = fixture.Seed.Client(DossierSeed.ProfessionalToken(StrangerRpps), "urgence vitale");
        Assert.Equal(HttpStatusCode.Forbidden, (await api.FhirGetAsync(DocumentsOf(ins))).Status);
    }

    [Fact]
    public async Task The_recent_exams_check_lists_the_results_of_a_code_as_the_API_does()
    {
        var (ins, patientId) = await fixture.PatientAsync("GIRARD", "EMMA");
        await fixture.Seed.AuthorizeAsync(patientId, AuthorisedRpps);
        var (observation, _) = await fixture.Seed.ResultAsync(patientId, "3016-3", DateTimeOffset.UtcNow.AddDays(-3));
        await fixture.Seed.ResultAsync(patientId, "2345-7", DateTimeOffset.UtcNow.AddDays(-2));
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Professional, rpps: AuthorisedRpps);
        await page.GotoAsync(fixture.BaseUrl + $"/console/patients/{patientId}");

        await page.Locator("#code").FillAsync("3016-3");
        await page.Locator("#days").FillAsync("30");
        await page.Locator("[data-testid=exams]").ClickAsync();
        await page.WaitForURLAsync(new Regex("code=3016-3"));

        var result = await page.Locator("[data-testid=exams-result]").InnerTextAsync();
        Assert.Contains("3016-3", result, StringComparison.Ordinal);
        Assert.DoesNotContain("2345-7", result, StringComparison.Ordinal);
        using var api = fixture.Seed.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));
        var (status, bundle) = await api.FhirGetAsync($"/fhir/Patient/{patientId}/$recent-exams?code=3016-3&days=30");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(observation, bundle.ResourceIds("Observation"));
        Assert.Equal(bundle.ResourceIds("Observation").Count + bundle.ResourceIds("DiagnosticReport").Count,
            await page.Locator("[data-testid=exams-result] tbody tr").CountAsync());
        await DossierBrowserFixture.ScreenshotAsync(page, "professional-dossier");
        await ConsoleChromium.AssertAccessibleAsync(page, "professional-dossier");
        Assert.Empty(session.Problems);
    }
}
