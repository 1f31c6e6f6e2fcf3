using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Playwright;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>
/// A gateway fed through MLLP by <see cref="DossierSeed"/> (PAM France ADT, CI-SIS MDM carrying corpus CDA documents) and
/// Debian's chromium driven by Playwright, for the patients' and professionals' console. Every test seeds its own patients,
/// so a test's changes (masking, closing …) never meet another's. Sign-in goes through <see cref="SignInAsync"/> only.
/// </summary>
public sealed class DossierBrowserFixture : IAsyncLifetime
{
    /// <summary>The discharge summary's CDA id and set id in the corpus: each copy gets its own.</summary>
    private const string DischargeId = "1.2.250.1.213.1.1.1.29.2022.1.1";
    private const string DischargeSetId = "1.2.250.1.213.1.1.1.29.2022.1";
    private const string RadiologyId = "1.2.250.1.71.4.2.2.120456789.71024000081";
    private const string CorpusIns = "279035121518989";
    private const string CorpusInsOid = "1.2.250.1.213.1.4.10";

    private static int _copies;
    private ConsoleChromium? _chromium;
    private TestGateway? _gateway;

    internal TestGateway Gateway => _gateway!;
    internal DossierSeed Seed { get; private set; } = null!;
    public IBrowser Browser => _chromium!.Browser;
    public string BaseUrl => $"http://{Gateway.Http}";

    public async Task InitializeAsync()
    {
        ConsoleChromium.Require();
        _gateway = await TestGateway.StartAsync();
        Seed = new DossierSeed(_gateway);
        _chromium = await ConsoleChromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_chromium is not null)
            await _chromium.DisposeAsync();
        if (_gateway is not null)
            await _gateway.DisposeAsync();
    }

    /// <summary>
    /// The one way the dossier tests sign in: the development token form, with a token of this role and identifiers.
    /// Switching a test to OIDC means changing this method (or adding a sibling the test calls).
    /// </summary>
    public async Task SignInAsync(IPage page, string role, string? ins = null, string? rpps = null, string? org = null)
    {
        await page.GotoAsync(BaseUrl + "/console/login");
        await page.Locator("input[name=token]").FillAsync(DossierSeed.Token(role, ins, rpps, org));
        await page.Locator("input[name=token]").PressAsync("Enter");
        await page.WaitForSelectorAsync("form[action='/console/signout']", new() { State = WaitForSelectorState.Attached });
    }

    /// <summary>A new browser context and page, with the console errors and every request it makes recorded.</summary>
    public async Task<Session> OpenAsync(string locale = "en-GB")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { Locale = locale });
        var page = await context.NewPageAsync();
        var session = new Session(page);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                session.Problems.Add($"console: {message.Text} at {message.Location}");
        };
        page.PageError += (_, error) => session.Problems.Add("page error: " + error);
        page.Request += (_, request) => session.Requests.Add(request.Url);
        return session;
    }

    /// <summary>The corpus discharge summary (CI-SIS LDL-SES, a structured body with section narratives) for this patient, optionally with a hostile section.</summary>
    public static byte[] DischargeSummary(string ins, string? extraSection = null)
    {
        var copy = Interlocked.Increment(ref _copies).ToString(CultureInfo.InvariantCulture);
        var text = File.ReadAllText(CliRunner.TestData("cda", "french", "ans-cisis_LDL-SES_2022.01.xml"))
            .Replace(DischargeId, "1.2.250.1.999.7." + copy + ".1", StringComparison.Ordinal)
            .Replace(DischargeSetId, "1.2.250.1.999.7." + copy, StringComparison.Ordinal);
        text = Personalise(text, ins);
        if (extraSection is not null)
        {
            var body = text.IndexOf("<structuredBody>", StringComparison.Ordinal);
            Assert.True(body > 0, "the corpus discharge summary has a structured body");
            text = text.Insert(body + "<structuredBody>".Length, "<component>" + extraSection + "</component>");
        }
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>The corpus radiology report whose body is an embedded PDF (TDCDA 2.1, nonXMLBody B64), for this patient.</summary>
    public static byte[] EmbeddedPdfReport(string ins)
    {
        var copy = Interlocked.Increment(ref _copies).ToString(CultureInfo.InvariantCulture);
        var text = File.ReadAllText(CliRunner.TestData("cda", "french", "ans_TDCDA-2.1-vague2_CR_Radio_CDAN1_v1.XML"))
            .Replace(RadiologyId, "1.2.250.1.999.8." + copy, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(Personalise(text, ins));
    }

    private static string Personalise(string cda, string ins) =>
        Regex.Replace(cda, $"""<id extension="{CorpusIns}" root="{Regex.Escape(CorpusInsOid)}"\s*(?:/>|>\s*</id>)""",
            $"""<id extension="{ins}" root="{DossierSeed.InsOid}"/>""");

    /// <summary>A patient fed through the ADT feed (a fresh INS), with their dossier open.</summary>
    internal async Task<(string Ins, long Id)> PatientAsync(string family = "DURAND", string given = "ALICE")
    {
        var ins = DossierSeed.NewIns();
        return (ins, await Seed.PatientAsync(ins, family, given));
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleChromium.ScreenshotDir, name + ".png"), FullPage = true });

    /// <summary>A page and what it did: console errors and the URL of every request.</summary>
    public sealed class Session(IPage page)
    {
        public IPage Page { get; } = page;
        public List<string> Problems { get; } = [];
        public List<string> Requests { get; } = [];

        /// <summary>Requests that went over the network to anywhere but <paramref name="baseUrl"/> (the browser's own chrome:// resources, such as its PDF viewer, are not network).</summary>
        public IReadOnlyList<string> OffOrigin(string baseUrl) =>
            Requests.Where(u => !u.StartsWith(baseUrl + "/", StringComparison.Ordinal) &&
                                !u.StartsWith("chrome://", StringComparison.Ordinal) && !u.StartsWith("chrome-extension://", StringComparison.Ordinal) &&
                                !u.StartsWith("data:", StringComparison.Ordinal) && !u.StartsWith("blob:", StringComparison.Ordinal)).ToList();
    }
}
