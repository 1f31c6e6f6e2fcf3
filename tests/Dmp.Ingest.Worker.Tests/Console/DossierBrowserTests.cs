using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.OperatorConsole;
using Dmp.Ingest.Worker.Tests.Fhir;
using Microsoft.Playwright;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>The console's dossier pages share one gateway and one browser; each test seeds its own patients.</summary>
[CollectionDefinition(Name)]
public sealed class DossierConsoleCollection : ICollectionFixture<DossierBrowserFixture>
{
    public const string Name = "dossier-console";
}

/// <summary>
/// "My dossier" in Chromium: the patient's landing page, the document list and its marks, the viewer (CDA header, sanitised
/// narrative, embedded PDF), every right exercised by clicking and checked through the FHIR API, and the access trail.
/// </summary>
[Trait("Tier", "Slow")]
[Collection(DossierConsoleCollection.Name)]
public sealed class DossierBrowserTests(DossierBrowserFixture fixture)
{
    private const string AuthorRpps = "10000000001";
    private const string ProfessionalRpps = "10000000311";

    [Fact]
    public async Task Patient_lands_on_their_dossier_reads_the_discharge_summary_and_sees_the_marks()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        var discharge = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Body = DossierBrowserFixture.DischargeSummary(ins), TypeCode = "11490-0" });
        var masked = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "11502-2", Title = "Bilan sanguin", Masked = true });
        var hidden = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { TypeCode = "18748-4", Title = "Scanner", HiddenFromPatient = true });
        var session = await fixture.OpenAsync();
        var page = session.Page;

        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + "/console/");

        Assert.EndsWith("/console/dossier", page.Url, StringComparison.Ordinal);
        var nav = await page.Locator("header nav").InnerTextAsync();
        Assert.Contains("My dossier", nav, StringComparison.Ordinal);
        Assert.DoesNotContain("Messages", nav, StringComparison.Ordinal);
        var rows = page.Locator("[data-testid=documents] tbody tr");
        Assert.Equal(2, await rows.CountAsync());
        // The type as the API gives it: the CDA's own display for the discharge summary, the seed's for the lab report.
        Assert.Contains("Lettre de liaison", await page.Locator($"tr[data-document='{discharge}']").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await page.Locator($"tr[data-document='{masked}'] [data-testid=masked]").CountAsync());
        Assert.Equal(0, await page.Locator($"tr[data-document='{hidden}']").CountAsync());
        Assert.Contains("open", await page.Locator("[data-testid=dossier-status]").InnerTextAsync(), StringComparison.Ordinal);
        await DossierBrowserFixture.ScreenshotAsync(page, "dossier");
        await ConsoleChromium.AssertAccessibleAsync(page, "dossier");

        await page.Locator($"tr[data-document='{discharge}'] a").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/console/dossier/documents/{discharge}$"));
        Assert.Contains("Lettre de liaison", await page.Locator("h1").InnerTextAsync(), StringComparison.Ordinal);
        Assert.NotEqual("—", (await page.Locator("[data-testid=author]").InnerTextAsync()).Trim());
        Assert.NotEqual("—", (await page.Locator("[data-testid=organisation]").InnerTextAsync()).Trim());
        Assert.NotEqual("—", (await page.Locator("[data-testid=legal-authenticator]").InnerTextAsync()).Trim());
        Assert.Contains("2019", await page.Locator("[data-testid=date]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("[data-testid=section]").CountAsync() >= 3);
        Assert.Contains("Motif de l'hospitalisation", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        await DossierBrowserFixture.ScreenshotAsync(page, "dossier-viewer");
        await ConsoleChromium.AssertAccessibleAsync(page, "viewer");
        Assert.Empty(session.Problems);
        Assert.Empty(session.OffOrigin(fixture.BaseUrl));

        // Each view was audited as the API audits its search and read: the trail says so.
        using var api = fixture.Seed.Client(DossierSeed.PatientToken(ins));
        var trail = await TrailAsync(api, ins);
        Assert.Contains(trail, e => e.Action == "read" && e.Entity == $"DocumentReference/{discharge}");
        Assert.Contains(trail, e => e.Action == "search" && e.Entity == "DocumentReference");
    }

    [Fact]
    public async Task Hostile_narrative_runs_nothing_and_loads_nothing_in_the_browser()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        var hostile = "<section>" + DossierNarrativeTests.Hostile.Replace("xmlns=\"urn:hl7-org:v3\" ", "", StringComparison.Ordinal)
            .Replace("<text ", "<title>Hostile section</title><text ", StringComparison.Ordinal) + "</section>";
        var id = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Body = DossierBrowserFixture.DischargeSummary(ins, hostile), TypeCode = "11490-0" });
        var session = await fixture.OpenAsync();
        var page = session.Page;
        var dialogs = 0;
        page.Dialog += (_, dialog) => { dialogs++; _ = dialog.DismissAsync(); };

        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + $"/console/dossier/documents/{id}");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);

        var narrative = page.Locator("[data-testid=section]").Filter(new() { HasText = "Hostile section" });
        Assert.Equal(1, await narrative.CountAsync());
        Assert.Contains("kept text", await narrative.InnerTextAsync(), StringComparison.Ordinal);
        foreach (var selector in (string[])["script", "img", "iframe", "object", "a", "[style]", "[onerror]", "[onclick]", "[onmouseover]", "[href]", "[src]"])
            Assert.Equal(0, await narrative.Locator(selector).CountAsync());
        Assert.Equal(0, await page.Locator("main script, main [style]").CountAsync());
        await narrative.Locator("td").First.HoverAsync();
        Assert.Equal(0, dialogs);
        Assert.Empty(session.Problems);
        Assert.Empty(session.OffOrigin(fixture.BaseUrl));
        Assert.DoesNotContain(session.Requests, url => url.Contains("203.0.113.7", StringComparison.Ordinal));
        await ConsoleChromium.AssertAccessibleAsync(page, "viewer-hostile");
    }

    [Fact]
    public async Task An_embedded_pdf_is_shown_from_the_console_route_under_a_policy_that_allows_only_it()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        var id = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Body = DossierBrowserFixture.EmbeddedPdfReport(ins), TypeCode = "18748-4" });
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);

        var viewer = await page.GotoAsync(fixture.BaseUrl + $"/console/dossier/documents/{id}");
        Assert.Equal(200, viewer!.Status);
        Assert.Equal(ConsoleDossierEndpoints.ViewerWithPdfPolicy, viewer.Headers["content-security-policy"]);
        var pdfObject = page.Locator("object[data-testid=pdf]");
        Assert.Equal("application/pdf", await pdfObject.GetAttributeAsync("type"));
        Assert.Equal($"/console/dossier/documents/{id}/pdf", await pdfObject.GetAttributeAsync("data"));

        var pdf = await page.Context.APIRequest.GetAsync(fixture.BaseUrl + $"/console/dossier/documents/{id}/pdf");
        Assert.Equal(200, pdf.Status);
        Assert.Equal("application/pdf", pdf.Headers["content-type"]);
        Assert.Equal(ConsoleDossierEndpoints.PdfPolicy, pdf.Headers["content-security-policy"]);
        Assert.Equal("nosniff", pdf.Headers["x-content-type-options"]);
        Assert.Equal("%PDF", System.Text.Encoding.ASCII.GetString((await pdf.BodyAsync())[..4]));
        await page.WaitForTimeoutAsync(500);
        await DossierBrowserFixture.ScreenshotAsync(page, "dossier-viewer-pdf");
        await ConsoleChromium.AssertAccessibleAsync(page, "viewer-pdf");
        // No CSP violation (the browser reports each as a console error) and nothing from elsewhere.
        Assert.Empty(session.Problems);
        Assert.Empty(session.OffOrigin(fixture.BaseUrl));

        // A page without a PDF keeps the console's strict policy (object-src 'none').
        var plain = await fixture.Seed.DocumentAsync(patientId);
        var strict = await page.GotoAsync(fixture.BaseUrl + $"/console/dossier/documents/{plain}");
        Assert.Equal(ConsoleHosting.ContentSecurityPolicy, strict!.Headers["content-security-policy"]);
    }

    [Fact]
    public async Task A_patient_never_sees_another_patients_document_even_by_its_url()
    {
        var (ins, _) = await fixture.PatientAsync();
        var (_, otherId) = await fixture.PatientAsync("MOREAU", "PAUL");
        var others = await fixture.Seed.DocumentAsync(otherId, new DossierSeed.Doc { Title = "Compte rendu de Paul" });
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);

        var viewer = await page.GotoAsync(fixture.BaseUrl + $"/console/dossier/documents/{others}");
        Assert.Equal(404, viewer!.Status);
        Assert.Equal(1, await page.Locator("[data-testid=not-found]").CountAsync());
        Assert.DoesNotContain("Paul", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(404, (await page.Context.APIRequest.GetAsync(fixture.BaseUrl + $"/console/dossier/documents/{others}/pdf")).Status);
        var posted = await page.Context.APIRequest.PostAsync(fixture.BaseUrl + $"/console/dossier/documents/{others}/mask");
        Assert.Equal(400, posted.Status); // no antiforgery token: refused before anything is looked at

        // A professional's page is not for a patient.
        var professional = await page.GotoAsync(fixture.BaseUrl + "/console/patients");
        Assert.Equal(403, professional!.Status);

        // And the refusal is in the other dossier's trail, as the API records it.
        var refused = await RawTrailAsync(otherId);
        Assert.Contains(refused, e => e.Action == "read" && e.Outcome == "denied" && e.AgentId == ins);
    }

    [Fact]
    public async Task Masking_and_unmasking_by_clicking_change_what_the_API_serves_to_a_professional()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        var id = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Lettre à masquer", AuthorRpps = "10000000099" });
        await fixture.Seed.AuthorizeAsync(patientId, ProfessionalRpps);
        using var professional = fixture.Seed.Client(DossierSeed.ProfessionalToken(ProfessionalRpps));
        Assert.Contains(id, (await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + $"/console/dossier/documents/{id}");

        await page.Locator("[data-testid=mask]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=mask"));
        Assert.Equal(1, await page.Locator("[data-testid=masked]").CountAsync());
        Assert.DoesNotContain(id, (await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
        using var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins));
        var (_, reference) = await patient.FhirGetAsync($"/fhir/DocumentReference/{id}");
        Assert.Contains(reference.GetProperty("securityLabel").EnumerateArray(), l => l.GetProperty("coding")[0].GetProperty("code").GetString() == "MASQUE_PS");

        await page.Locator("[data-testid=unmask]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=unmask"));
        Assert.Equal(0, await page.Locator("[data-testid=masked]").CountAsync());
        Assert.Contains(id, (await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids());
        Assert.Empty(session.Problems);
    }

    [Fact]
    public async Task Deleting_asks_for_a_confirmation_that_says_what_deletion_means_then_the_document_is_gone()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        var id = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Lettre à supprimer" });
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + $"/console/dossier/documents/{id}");

        await page.Locator("[data-testid=delete-link]").ClickAsync();
        await page.WaitForURLAsync(new Regex($"/documents/{id}/confirm-delete$"));
        var meaning = await page.Locator("[data-testid=delete-meaning]").InnerTextAsync();
        Assert.Contains("cannot be undone", meaning, StringComparison.Ordinal);
        Assert.Contains("trace", meaning, StringComparison.Ordinal);
        Assert.Contains("mask", meaning, StringComparison.Ordinal);
        await ConsoleChromium.AssertAccessibleAsync(page, "delete-confirmation");
        using var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins));
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirGetAsync($"/fhir/DocumentReference/{id}")).Status); // not yet

        await page.Locator("[data-testid=confirm-delete]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/console/dossier\\?done=delete"));

        Assert.Equal(0, await page.Locator($"tr[data-document='{id}']").CountAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirGetAsync($"/fhir/DocumentReference/{id}")).Status);
        Assert.Contains(await TrailAsync(patient, ins), e => e.Action == "delete" && e.Entity == $"DocumentReference/{id}");
        Assert.Empty(session.Problems);
    }

    [Fact]
    public async Task Authorising_naming_the_treating_physician_and_revoking_by_clicking_decide_what_the_professional_reads()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        var masked = await fixture.Seed.DocumentAsync(patientId, new DossierSeed.Doc { Title = "Masqué", Masked = true, AuthorRpps = "10000000099" });
        using var professional = fixture.Seed.Client(DossierSeed.ProfessionalToken(ProfessionalRpps));
        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + "/console/dossier");

        // A number that is no RPPS is said so, and changes nothing.
        await page.Locator("#authorize-rpps").FillAsync("1234");
        await page.Locator("[data-testid=authorize]").ClickAsync();
        await page.WaitForURLAsync(new Regex("invalid=authorize"));
        Assert.Contains("11 digits", await page.Locator("[data-testid=outcome]").InnerTextAsync(), StringComparison.Ordinal);

        await page.Locator("#authorize-rpps").FillAsync(ProfessionalRpps);
        await page.Locator("[data-testid=authorize]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=authorize"));
        var (status, bundle) = await professional.FhirGetAsync(DocumentsOf(ins));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.DoesNotContain(masked, bundle.Ids()); // authorised: masked documents stay hidden

        await page.Locator("#authorize-rpps").FillAsync(ProfessionalRpps);
        await page.Locator("#authorize-treating").CheckAsync();
        await page.Locator("[data-testid=authorize]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=authorize"));
        Assert.Equal(ProfessionalRpps, (await page.Locator("[data-testid=treating]").InnerTextAsync()).Trim());
        Assert.Contains(masked, (await professional.FhirGetAsync(DocumentsOf(ins))).Body.Ids()); // the treating physician sees everything

        await page.Locator("#revoke-rpps").FillAsync(ProfessionalRpps);
        await page.Locator("[data-testid=revoke]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=revoke"));
        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);
        await ConsoleChromium.AssertAccessibleAsync(page, "dossier-after-revoke");
        Assert.Empty(session.Problems);
    }

    [Fact]
    public async Task Closing_and_opposing_emergency_by_clicking_shut_professionals_out_and_reopening_lets_them_back()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        await fixture.Seed.DocumentAsync(patientId);
        await fixture.Seed.AuthorizeAsync(patientId, ProfessionalRpps);
        using var professional = fixture.Seed.Client(DossierSeed.ProfessionalToken(ProfessionalRpps));
        using var emergency = fixture.Seed.Client(DossierSeed.ProfessionalToken("10000000312"), "patient unconscious");
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + "/console/dossier");

        await page.Locator("[data-testid=oppose-emergency]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=oppose-emergency"));
        Assert.Contains("opposed", await page.Locator("[data-testid=emergency-state]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await emergency.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(HttpStatusCode.OK, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);
        await page.Locator("[data-testid=allow-emergency]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=allow-emergency"));
        Assert.Equal(HttpStatusCode.OK, (await emergency.FhirGetAsync(DocumentsOf(ins))).Status);

        await page.Locator("[data-testid=close]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=close"));
        Assert.Contains("closed", await page.Locator("[data-testid=dossier-status]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await emergency.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(1, await page.Locator("[data-testid=documents] tbody tr").CountAsync()); // the patient still reads it
        await ConsoleChromium.AssertAccessibleAsync(page, "dossier-closed");

        await page.Locator("[data-testid=reopen]").ClickAsync();
        await page.WaitForURLAsync(new Regex("done=reopen"));
        Assert.Equal(HttpStatusCode.OK, (await professional.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Empty(session.Problems);
    }

    [Fact]
    public async Task A_dossier_longer_than_a_page_is_read_to_its_oldest_document_by_the_older_link_and_an_emergency_access_says_it_lists_the_newest()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        var seeded = new List<long>();
        for (var i = 0; i < ConsoleDossier.DocumentPage + 3; i++)
            seeded.Add(await fixture.Seed.DocumentAsync(patientId));
        await fixture.Seed.AuthorizeAsync(patientId, ProfessionalRpps);

        foreach (var (role, path) in new[] { (DmpClaims.Patient, "/console/dossier"), (DmpClaims.Professional, $"/console/patients/{patientId}") })
        {
            var session = await fixture.OpenAsync();
            var page = session.Page;
            await fixture.SignInAsync(page, role, ins: role == DmpClaims.Patient ? ins : null, rpps: role == DmpClaims.Professional ? ProfessionalRpps : null);
            await page.GotoAsync(fixture.BaseUrl + path);

            var first = await ConsoleChromium.DocumentsShownAsync(page);
            Assert.Equal(ConsoleDossier.DocumentPage, first.Count);
            Assert.Equal(0, await page.Locator("[data-testid=newest-documents]").CountAsync());
            await ConsoleChromium.FollowLinkAsync(page, page.Locator("[data-testid=older-documents]"), new Regex("before="));
            await page.Locator("[data-testid=newest-documents]").WaitForAsync();
            var second = await ConsoleChromium.DocumentsShownAsync(page);

            // Every document once, the newest page first (the seed's documents differ only by when they were stored).
            Assert.Equal(3, second.Count);
            Assert.Equal(seeded.Order(), first.Concat(second).Order());
            Assert.Equal(seeded.Take(3).Order(), second.Order());
            Assert.Equal(0, await page.Locator("[data-testid=older-documents]").CountAsync());
            await ConsoleChromium.AssertAccessibleAsync(page, role + "-older-documents");

            await ConsoleChromium.FollowLinkAsync(page, page.Locator("[data-testid=newest-documents]"), new Regex(Regex.Escape(path) + "$"));
            await page.Locator("[data-testid=older-documents]").WaitForAsync();
            Assert.Equal(first.Order(), (await ConsoleChromium.DocumentsShownAsync(page)).Order());
            Assert.Empty(session.Problems);
        }

        // An emergency access (a professional the patient never authorised) lists the newest page and says there are more.
        var stranger = await fixture.OpenAsync();
        await fixture.SignInAsync(stranger.Page, DmpClaims.Professional, rpps: "10000000312");
        await stranger.Page.GotoAsync(fixture.BaseUrl + $"/console/patients/{patientId}");
        await stranger.Page.Locator("#reason").FillAsync("arrêt cardiaque");
        var posted = await stranger.Page.RunAndWaitForResponseAsync(() => stranger.Page.Locator("[data-testid=break-glass]").ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.EndsWith($"/console/patients/{patientId}", StringComparison.Ordinal));
        Assert.Equal(200, posted.Status);
        await stranger.Page.WaitForSelectorAsync("[data-testid=emergency-banner]");
        Assert.Equal(ConsoleDossier.DocumentPage, (await ConsoleChromium.DocumentsShownAsync(stranger.Page)).Count);
        Assert.Contains($"newest {ConsoleDossier.DocumentPage} documents only", await stranger.Page.Locator("[data-testid=emergency-newest-only]").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await stranger.Page.Locator("[data-testid=older-documents]").CountAsync());
        // The page that refused them before the emergency was a 403, which the browser reports: nothing else.
        Assert.All(stranger.Problems, p => Assert.Contains("403", p, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_trail_pages_to_its_first_event_and_says_the_chain_verifies()
    {
        var (ins, patientId) = await fixture.PatientAsync();
        await fixture.Seed.DocumentAsync(patientId);
        using var patient = fixture.Seed.Client(DossierSeed.PatientToken(ins));
        for (var i = 0; i < 30; i++)
            Assert.Equal(HttpStatusCode.OK, (await patient.FhirGetAsync(DocumentsOf(ins))).Status);
        var oldest = (await RawTrailAsync(patientId)).Min(e => e.Id);
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + "/console/dossier");
        await page.Locator("[data-testid=trail-link]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/console/dossier/trail$"));

        Assert.Contains("verifies", await page.Locator("[data-testid=chain]").InnerTextAsync(), StringComparison.Ordinal);
        await DossierBrowserFixture.ScreenshotAsync(page, "dossier-trail");
        await ConsoleChromium.AssertAccessibleAsync(page, "trail");
        var seen = new List<long>();
        var pages = 0;
        while (true)
        {
            pages++;
            foreach (var value in await page.Locator("[data-testid=trail] tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.event)"))
                seen.Add(long.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
            if (await page.Locator("[data-testid=older]").CountAsync() == 0)
                break;
            await page.Locator("[data-testid=older]").ClickAsync();
            await page.WaitForURLAsync(new Regex("before="));
        }

        Assert.True(pages >= 2, $"{seen.Count} events on {pages} page(s)");
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen.OrderByDescending(x => x), seen);
        Assert.Equal(oldest, seen[^1]);
        Assert.Equal(1, await page.Locator("[data-testid=trail-end]").CountAsync());
        Assert.Empty(session.Problems);
    }

    [Fact]
    public async Task An_event_edited_in_the_database_breaks_that_dossiers_trail_and_no_other()
    {
        var (ins, patientId) = await fixture.PatientAsync("ROUX", "EMMA");
        var (otherIns, otherId) = await fixture.PatientAsync("ROUX", "LEO");
        foreach (var (i, id) in new[] { (ins, patientId), (otherIns, otherId) })
        {
            await fixture.Seed.DocumentAsync(id);
            using var reader = fixture.Seed.Client(DossierSeed.PatientToken(i));
            Assert.Equal(HttpStatusCode.OK, (await reader.FhirGetAsync(DocumentsOf(i))).Status);
        }
        // Someone with the database's keys rewrites who read the dossier, at its first event.
        await fixture.Seed.WriteAsync((c, t) => Dapper.SqlMapper.ExecuteAsync(c,
            "UPDATE audit_event SET agent_id = '10000000666' WHERE chain = @Chain AND seq = 1;", new { Chain = $"patient:{patientId}" }, t));

        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Patient, ins: ins);
        await page.GotoAsync(fixture.BaseUrl + "/console/dossier/trail");
        var chain = await page.Locator("[data-testid=chain]").InnerTextAsync();
        Assert.Contains("does not verify", chain, StringComparison.Ordinal);
        Assert.Contains("edited", chain, StringComparison.Ordinal);
        Assert.Equal("alert", await page.Locator("[data-testid=chain]").GetAttributeAsync("role"));

        var other = await fixture.OpenAsync();
        await fixture.SignInAsync(other.Page, DmpClaims.Patient, ins: otherIns);
        await other.Page.GotoAsync(fixture.BaseUrl + "/console/dossier/trail");
        Assert.Contains("verifies: no event", await other.Page.Locator("[data-testid=chain]").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operator_gets_the_not_for_your_role_page_on_every_dossier_page_and_keeps_their_own_nav()
    {
        var session = await fixture.OpenAsync();
        var page = session.Page;
        await fixture.SignInAsync(page, DmpClaims.Operator);

        foreach (var path in (string[])["/console/dossier", "/console/dossier/trail", "/console/dossier/documents/1", "/console/dossier/documents/1/confirm-delete", "/console/patients", "/console/patients/1"])
        {
            var response = await page.GotoAsync(fixture.BaseUrl + path);
            Assert.True(response!.Status == 403, path + " answered " + response.Status);
            Assert.Contains("operator", await page.Locator("[data-testid=forbidden]").InnerTextAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(403, (await page.Context.APIRequest.GetAsync(fixture.BaseUrl + "/console/dossier/documents/1/pdf")).Status);
        var nav = await page.Locator("header nav").InnerTextAsync();
        Assert.Contains("Messages", nav, StringComparison.Ordinal);
        Assert.DoesNotContain("My dossier", nav, StringComparison.Ordinal);
        Assert.DoesNotContain("Find a patient", nav, StringComparison.Ordinal);
        Assert.EndsWith("/console/", (await page.GotoAsync(fixture.BaseUrl + "/console/"))!.Url, StringComparison.Ordinal);
    }

    internal sealed record TrailEvent(long Id, string Action, string? Entity, string? Outcome, string? AgentId, string? Reason, string? Purpose);

    /// <summary>Every event of the patient's trail through GET /fhir/AuditEvent (all pages).</summary>
    internal static async Task<List<TrailEvent>> TrailAsync(HttpClient patient, string ins)
    {
        var events = new List<TrailEvent>();
        string? url = "/fhir/AuditEvent?_count=100&patient.identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{ins}");
        while (url is not null)
        {
            var (status, bundle) = await patient.FhirGetAsync(url);
            Assert.Equal(HttpStatusCode.OK, status);
            foreach (var entry in bundle.TryGetProperty("entry", out var entries) ? entries.EnumerateArray() : default)
            {
                var r = entry.GetProperty("resource");
                var purpose = r.TryGetProperty("purposeOfEvent", out var p) ? p[0] : default;
                events.Add(new TrailEvent(
                    long.Parse(r.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                    r.GetProperty("subtype")[0].GetProperty("code").GetString()!,
                    r.TryGetProperty("entity", out var entity) ? entity[0].GetProperty("what").GetProperty("reference").GetString() : null,
                    r.TryGetProperty("outcomeDesc", out var outcome) ? outcome.GetString() : null,
                    r.GetProperty("agent")[0].GetProperty("who").TryGetProperty("identifier", out var who) ? who.GetProperty("value").GetString() : null,
                    purpose.ValueKind == JsonValueKind.Object && purpose.TryGetProperty("text", out var text) ? text.GetString() : null,
                    purpose.ValueKind == JsonValueKind.Object && purpose.TryGetProperty("coding", out var coding) ? coding[0].GetProperty("code").GetString() : null));
            }
            url = bundle.NextLink();
        }
        return events;
    }

    /// <summary>The dossier's events as stored (any caller's), read with SQL: what a refused caller left in someone else's trail.</summary>
    private async Task<List<TrailEvent>> RawTrailAsync(long patientId)
    {
        var rows = new List<TrailEvent>();
        await fixture.Seed.WriteAsync(async (c, t) => rows.AddRange(await Dapper.SqlMapper.QueryAsync<TrailEvent>(c,
            "SELECT id AS Id, action AS Action, entity_type AS Entity, outcome AS Outcome, agent_id AS AgentId, reason AS Reason, purpose_of_use AS Purpose FROM audit_event WHERE patient_id = @PatientId ORDER BY id;",
            new { PatientId = patientId }, t)));
        return rows;
    }
}
