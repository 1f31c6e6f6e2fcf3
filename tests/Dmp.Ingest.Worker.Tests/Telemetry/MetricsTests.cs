using System.Net;
using System.Net.Sockets;
using System.Text;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Interop;
using Dmp.Ingest.Worker.Tests.Mllp;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>
/// `GET /metrics` of an in-process gateway after real MLLP traffic: the issue's names, their labels and their values, as
/// Prometheus reads them; and who may scrape.
/// </summary>
public sealed class MetricsTests
{
    /// <summary>One sender, `lab`, on loopback, speaking for FAC; a channel name of the test's own.</summary>
    internal static Dictionary<string, string?> LabSender(string channel) => new()
    {
        ["Dmp:Mllp:Channel"] = channel,
        ["Dmp:Mllp:Senders:0:Name"] = "lab",
        ["Dmp:Mllp:Senders:0:Addresses:0"] = "127.0.0.1",
        ["Dmp:Mllp:Senders:0:Facilities:0"] = "FAC",
    };

    /// <summary>An ADT^A01 as <see cref="Hl7Samples.Adt"/> but from another facility (MSH-4).</summary>
    internal static byte[] AdtFrom(string facility, string controlId) =>
        Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Hl7Samples.Adt(controlId)).Replace("|APP|FAC|", $"|APP|{facility}|", StringComparison.Ordinal));

    [Fact]
    public async Task An_AA_an_AR_for_a_facility_not_allowed_and_a_malformed_frame_are_counted_under_the_issues_names()
    {
        await using var gateway = await TestGateway.StartAsync(LabSender("metrics-mllp"));
        await using var client = await gateway.ConnectAsync();

        var ok = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("MET-OK")));
        var evil = Hl7Samples.ReadAck(await client.SendAsync(AdtFrom("EVIL", "MET-EVIL")));
        var garbage = Hl7Samples.ReadAck(await client.SendAsync("this is not HL7"u8.ToArray()));
        Assert.Equal(("AA", "AR", "AR"), (ok.Code, evil.Code, garbage.Code));
        await gateway.WaitForStatusAsync((await gateway.SingleAsync("MET-OK")).Id(), "processed");

        var scrape = await Scrape.FromAsync(gateway.Anonymous);

        const string channel = "channel=metrics-mllp";
        Assert.Equal(2, scrape.Value("dmp_messages_received_total", channel, "sender=lab", "type=ADT^A01"));
        Assert.Equal(1, scrape.Value("dmp_messages_received_total", channel, "sender=lab", "type=other"));
        Assert.Equal(3, scrape.Value("dmp_messages_received_total"));
        Assert.Equal(1, scrape.Value("dmp_messages_acked_total", channel, "sender=lab", "code=AA"));
        Assert.Equal(2, scrape.Value("dmp_messages_acked_total", channel, "sender=lab", "code=AR"));
        Assert.Equal(1, scrape.Value("dmp_messages_processed_total", "sender=lab", "status=processed"));
        Assert.Equal(2, scrape.Value("dmp_messages_processed_total", "sender=lab", "status=rejected"));
        Assert.Equal(3, scrape.Value("dmp_messages_processed_total"));

        // Histograms with the explicit buckets: 0.25 ms … 10 s for the ACK, one observation per ACK written.
        Assert.Equal(3, scrape.Value("dmp_mllp_ack_duration_seconds_count"));
        var ackBuckets = scrape.Find("dmp_mllp_ack_duration_seconds_bucket").Select(s => s.Labels["le"]).ToList();
        Assert.Equal(["0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"], ackBuckets);
        Assert.Equal(3, scrape.Value("dmp_mllp_ack_duration_seconds_bucket", "le=+Inf"));
        Assert.True(scrape.Value("dmp_mllp_ack_duration_seconds_sum") > 0);
        Assert.Equal(1, scrape.Value("dmp_processing_duration_seconds_count"));
        Assert.Equal(1, scrape.Value("dmp_mllp_connections"));

        // The ASP.NET Core instrumentation's own name, from the API calls above (scrapes themselves are left out).
        Assert.True(scrape.Value("http_server_request_duration_seconds_count", "http_route=/api/messages") >= 1, scrape.Text);
        Assert.Empty(scrape.Find("http_server_request_duration_seconds_count", "http_route=/metrics"));
        // No TLS configured: no handshake failed, no certificate to watch.
        Assert.Equal(0, scrape.Value("dmp_tls_handshake_failures_total"));
        Assert.Empty(scrape.Find("dmp_certificate_expiry_seconds"));

        // The client closes: the gauge follows.
        await client.DisposeAsync();
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while ((await Scrape.FromAsync(gateway.Anonymous)).Value("dmp_mllp_connections") != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "dmp_mllp_connections stayed above 0 after the client closed");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_message_type_no_rule_knows_is_other_and_a_connection_no_sender_matches_is_unknown()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Channel"] = "metrics-unknown",
            ["Dmp:Mllp:Senders:0:Name"] = "far-lab",
            ["Dmp:Mllp:Senders:0:Addresses:0"] = "10.20.0.0/16",
            ["Dmp:Mllp:Senders:0:Facilities:0"] = "*",
        });
        await using var client = await gateway.ConnectAsync();
        var zzz = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Hl7Samples.Adt("MET-ZZZ")).Replace("ADT^A01^ADT_A01", "ZZZ^Z99", StringComparison.Ordinal));

        Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("MET-NOBODY"))).Code);
        Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync(zzz)).Code);

        var scrape = await Scrape.FromAsync(gateway.Anonymous);
        Assert.Equal(1, scrape.Value("dmp_messages_received_total", "channel=metrics-unknown", "sender=unknown", "type=ADT^A01"));
        Assert.Equal(1, scrape.Value("dmp_messages_received_total", "channel=metrics-unknown", "sender=unknown", "type=other"));
        Assert.Equal(2, scrape.Value("dmp_messages_acked_total", "sender=unknown", "code=AR"));
        Assert.Equal(2, scrape.Value("dmp_messages_processed_total", "sender=unknown", "status=rejected"));
    }

    [Fact]
    public async Task Without_anonymous_loopback_a_scrape_needs_an_operator_token()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Metrics:AllowAnonymousLoopback"] = "false" });
        using var patient = gateway.Client(TestGateway.Token(DmpClaims.Patient, DossierSeed.NewIns()));

        using var anonymous = await gateway.Anonymous.GetAsync("/metrics");
        using var asPatient = await patient.GetAsync("/metrics");
        using var asOperator = await gateway.Api.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, asPatient.StatusCode);
        Assert.Equal(HttpStatusCode.OK, asOperator.StatusCode);
        Assert.Contains("dmp_mllp_connections", await asOperator.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_from_loopback_by_default_and_no_route_when_metrics_are_off()
    {
        await using var on = await TestGateway.StartAsync();
        await using var off = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Metrics:Enabled"] = "false" });

        using var scraped = await on.Anonymous.GetAsync("/metrics");
        using var absent = await off.Api.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, absent.StatusCode);
    }

    [Fact]
    public async Task A_dossier_search_is_counted_by_its_audited_operation_and_outcome()
    {
        await using var gateway = await TestGateway.StartAsync();
        using var professional = gateway.Client(DossierSeed.ProfessionalToken(OrgMemberRpps, "LAB"));
        using var patient = gateway.Client(DossierSeed.PatientToken(DossierSeed.NewIns()));

        Assert.Equal(HttpStatusCode.NotFound, (await professional.FhirGetAsync(DocumentsOf(DossierSeed.NewIns()))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await patient.FhirGetAsync(DocumentsOf(DossierSeed.NewIns()))).Status);

        var scrape = await Scrape.FromAsync(gateway.Anonymous);
        Assert.Equal(1, scrape.Value("dmp_dossier_requests_total", "operation=search", "outcome=not-found"));
        Assert.Equal(1, scrape.Value("dmp_dossier_requests_total", "operation=search", "outcome=denied"));
    }

    [Fact]
    public async Task A_client_that_does_not_speak_TLS_is_a_handshake_failure_and_the_certificate_expiry_is_scraped()
    {
        using var pki = new TestCertificates();
        var settings = pki.ServerSettings();
        settings["Dmp:Mllp:Channel"] = "metrics-tls";
        await using var gateway = await TestGateway.StartAsync(settings);

        // Plain MLLP bytes where a TLS ClientHello is expected.
        await PlainBytesAsync(gateway.Mllp, MllpTestClient.Frame(Hl7Samples.Adt("MET-PLAIN")));

        var deadline = DateTime.UtcNow + TestGateway.Patience;
        Scrape scrape;
        while ((scrape = await Scrape.FromAsync(gateway.Anonymous)).Value("dmp_tls_handshake_failures_total") < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "no TLS handshake failure counted: " + scrape.Text);
            await Task.Delay(50);
        }
        Assert.Equal(1, scrape.Value("dmp_tls_handshake_failures_total"));
        // The test PKI's server certificate ends 30 days from now.
        var left = scrape.Value("dmp_certificate_expiry_seconds", "name=mllp");
        Assert.InRange(left, TimeSpan.FromDays(29).TotalSeconds, TimeSpan.FromDays(31).TotalSeconds);
        Assert.Equal(0, scrape.Value("dmp_messages_received_total"));
    }

    [Fact]
    public async Task An_HTTPS_only_gateway_shows_its_certificate_expiry_and_counts_a_plain_HTTP_client_as_a_handshake_failure()
    {
        using var pki = new TestCertificates();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Enabled"] = "false",
            ["Dmp:Http:Tls:CertificatePath"] = pki.ServerCertPem,
            ["Dmp:Http:Tls:KeyPath"] = pki.ServerKeyPem,
        });
        using var https = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true })
        {
            BaseAddress = new Uri($"https://{gateway.Http}"),
            Timeout = TestGateway.Patience,
        };

        var before = (await Scrape.FromAsync(https)).Value("dmp_tls_handshake_failures_total");
        Assert.True(before == 0, $"before: {before}");
        // One plain HTTP request on the HTTPS port, on a raw socket (HttpClient tries again on its own).
        await PlainBytesAsync(gateway.Http, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray());

        var deadline = DateTime.UtcNow + TestGateway.Patience;
        Scrape scrape;
        while ((scrape = await Scrape.FromAsync(https)).Value("dmp_tls_handshake_failures_total") < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "no TLS handshake failure counted on the HTTPS port: " + scrape.Text);
            await Task.Delay(50);
        }
        Assert.Equal(1, scrape.Value("dmp_tls_handshake_failures_total"));
        Assert.InRange(scrape.Value("dmp_certificate_expiry_seconds", "name=http"), TimeSpan.FromDays(29).TotalSeconds, TimeSpan.FromDays(31).TotalSeconds);
        Assert.Empty(scrape.Find("dmp_certificate_expiry_seconds", "name=mllp"));
    }

    /// <summary>Writes bytes on a new connection and reads until the server closes it.</summary>
    private static async Task PlainBytesAsync(IPEndPoint endpoint, byte[] bytes)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint);
        var stream = tcp.GetStream();
        await stream.WriteAsync(bytes);
        var buffer = new byte[256];
        using var wait = new CancellationTokenSource(TestGateway.Patience);
        try
        {
            while (await stream.ReadAsync(buffer, wait.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
            // reset by the server: the handshake failed
        }
    }
}
