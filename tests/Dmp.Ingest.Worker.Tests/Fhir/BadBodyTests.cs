using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// Issue 16, "every bad body is a 4xx": every route of the running gateway that may take a body (found in its endpoint
/// list, so a new route is swept without editing this test) answers each bad body with a 4xx and an error body of the
/// API's format — OperationOutcome under /fhir, problem+json under /api — never a 500 nor a bare status.
/// </summary>
public sealed class BadBodyTests(DossierApiFixture fixture) : IClassFixture<DossierApiFixture>
{
    private static readonly string[] BodyMethods = ["POST", "PUT", "PATCH", "DELETE"];
    private DossierSeed Seed => fixture.Seed;

    private sealed record BadBody(string Name, Func<string, HttpContent> Content, bool OnlyWhenRequired = false);

    private static HttpContent Text(string text, string mediaType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        return content;
    }

    /// <summary>A body streamed without a Content-Length (chunked), so only Kestrel's limit can stop it.</summary>
    private sealed class Chunked(byte[] bytes, string mediaType) : HttpContent
    {
        public Chunked Typed()
        {
            Headers.TryAddWithoutValidation("Content-Type", mediaType);
            return this;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < bytes.Length; offset += 16 * 1024)
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(16 * 1024, bytes.Length - offset)));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    private static readonly string Huge = """{"resourceType":"Parameters","parameter":[{"name":"rpps","valueString":""" + "\"" + new string('9', 2_000_000) + "\"}]}";

    private static readonly BadBody[] BadBodies =
    [
        new("empty", type => Text("", type), OnlyWhenRequired: true),
        new("not JSON", type => Text("this is not JSON {", type)),
        new("a JSON array", type => Text("[1,2,3]", type)),
        new("a JSON string", type => Text("\"Parameters\"", type)),
        new("a Patient", type => Text("""{"resourceType":"Patient","id":"1"}""", type)),
        new("a transaction Bundle", type => Text("""{"resourceType":"Bundle","type":"transaction","entry":[]}""", type)),
        new("resourceType of the wrong JSON kind", type => Text("""{"resourceType":{"a":1}}""", type)),
        new("a patch operation of the wrong JSON kinds", type => Text("""[{"op":1,"path":{"x":2}},{"op":"add","path":"/status","value":{"a":[]}}]""", type)),
        new("Parameters whose parameter is an object", type => Text("""{"resourceType":"Parameters","parameter":{"name":"rpps"}}""", type)),
        new("Parameters of the wrong JSON kinds", type => Text("""{"resourceType":"Parameters","parameter":[{"name":["x"],"valueString":{"a":1}},{"name":"treating","valueBoolean":"yes"}]}""", type)),
        new("Parameters with an unknown member", type => Text("""{"resourceType":"Parameters","parameter":[{"name":"rpps","valueQuantity":{"value":"x"}}],"evil":true}""", type)),
        new("text/plain", _ => Text("""{"resourceType":"Parameters"}""", "text/plain")),
        new("XML", _ => Text("""<Parameters xmlns="http://hl7.org/fhir"/>""", "application/xml")),
        new("no Content-Type", _ => new ByteArrayContent("""{"resourceType":"Parameters"}"""u8.ToArray())),
        new("deep nesting (array)", type => Text(new string('[', 100_000) + new string(']', 100_000), type)),
        new("deep nesting (object)", type => Text("""{"resourceType":"Parameters","parameter":""" + string.Concat(Enumerable.Repeat("""[{"part":""", 5_000)) + "1" + string.Concat(Enumerable.Repeat("}]", 5_000)) + "}", type)),
        new("huge", type => Text(Huge, type)),
        new("huge, chunked", type => new Chunked(Encoding.UTF8.GetBytes(Huge), type).Typed()),
    ];

    /// <summary>The API routes of the running gateway that may take a body: a body method, or any method (the /fhir catch-all).</summary>
    private List<RouteEndpoint> BodyRoutes() =>
        fixture.Gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } p && (p.StartsWith("/fhir", StringComparison.Ordinal) || p.StartsWith("/api", StringComparison.Ordinal)))
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not { } methods || methods.HttpMethods.Any(BodyMethods.Contains))
            .ToList();

    [Fact]
    public void Every_route_that_changes_something_declares_its_body()
    {
        var routes = BodyRoutes();

        Assert.Contains(routes, r => r.RoutePattern.RawText == "/fhir/Patient/{id}/{operation}");
        Assert.Contains(routes, r => r.RoutePattern.RawText == "/api/messages/{id:long}/replay");
        foreach (var route in routes.Where(r => r.Metadata.GetMetadata<IHttpMethodMetadata>() is not null))
            Assert.True(route.Metadata.GetMetadata<BodyContract>() is not null, $"{route.RoutePattern.RawText} declares no BodyContract (.WithBody)");
    }

    [Fact]
    public async Task Every_route_answers_every_bad_body_with_a_4xx_in_the_apis_error_format()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        var documentId = await Seed.DocumentAsync(patientId);
        var messageId = (await fixture.Gateway.MessagesAsync()).First().Id();
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        using var operatorClient = Seed.Client(DossierSeed.OperatorToken());
        var routes = BodyRoutes();
        Assert.NotEmpty(routes);

        var answered = 0;
        foreach (var route in routes)
        {
            var pattern = route.RoutePattern.RawText!;
            var url = Fill(pattern, patientId, documentId, messageId);
            var methods = route.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Where(BodyMethods.Contains).ToList() ?? ["POST"];
            var contract = route.Metadata.GetMetadata<BodyContract>();
            var mediaType = contract?.MediaTypes.FirstOrDefault() ?? "application/fhir+json";
            var fhir = pattern.StartsWith("/fhir", StringComparison.Ordinal);
            foreach (var method in methods)
            {
                foreach (var bad in BadBodies)
                {
                    if (bad.OnlyWhenRequired && contract?.Required != true)
                        continue;
                    using var response = await SendAsync(fhir ? patient : operatorClient, method, url, bad, mediaType);
                    var body = await response.Content.ReadAsStringAsync();
                    var what = $"{method} {url} with {bad.Name}: {(int)response.StatusCode} {body}";

                    Assert.True((int)response.StatusCode is >= 400 and < 500, what);
                    Assert.Equal(fhir ? FhirResults.JsonMediaType : "application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    using var json = JsonDocument.Parse(body);
                    if (fhir)
                        Assert.Equal("OperationOutcome", json.RootElement.GetProperty("resourceType").GetString());
                    else
                        Assert.Equal((int)response.StatusCode, json.RootElement.GetProperty("status").GetInt32());
                    answered++;
                }
            }
        }

        Assert.True(answered >= 5 * BadBodies.Length, $"{answered} requests swept");
        // Nothing of the bad bodies reached the dossier: it is still open, the document still there and unmasked.
        var (status, read) = await patient.FhirGetAsync($"/fhir/DocumentReference/{documentId}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(read.TryGetProperty("securityLabel", out var labels) && labels.ToString().Contains("MASQUE_PS", StringComparison.Ordinal));
    }

    /// <summary>
    /// Sends one bad body. A huge one goes with Expect: 100-continue, as curl sends it, so the server may refuse it before a
    /// byte is sent; when the refusal and the first bytes cross anyway, the client's write meets the connection the server
    /// closed after its 413 (broken pipe) before it reads that answer: the request is sent again on a new connection.
    /// </summary>
    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string method, string url, BadBody bad, string mediaType)
    {
        var huge = bad.Name.StartsWith("huge", StringComparison.Ordinal);
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = bad.Content(mediaType) };
            request.Headers.ExpectContinue = huge;
            try
            {
                return await client.SendAsync(request);
            }
            catch (HttpRequestException e) when (huge && attempt < 5 && e.InnerException is IOException)
            {
                // the 413 and the body crossed: try again
            }
        }
    }

    /// <summary>A route's pattern with its parameters filled with the seeded patient, document or message.</summary>
    private static string Fill(string pattern, long patientId, long documentId, long messageId)
    {
        var url = pattern
            .Replace("/Patient/{id}/{operation}", $"/Patient/{patientId}/$authorize", StringComparison.Ordinal)
            .Replace("/Patient/{id}", $"/Patient/{patientId}", StringComparison.Ordinal)
            .Replace("/DocumentReference/{id}/{operation}", $"/DocumentReference/{documentId}/$mask", StringComparison.Ordinal)
            .Replace("/DocumentReference/{id}", $"/DocumentReference/{documentId}", StringComparison.Ordinal)
            .Replace("/messages/{id:long}", $"/messages/{messageId}", StringComparison.Ordinal)
            .Replace("{**rest}", "Bundle", StringComparison.Ordinal);
        Assert.False(url.Contains('{', StringComparison.Ordinal), $"the sweep has no value for a parameter of {pattern}: add one to Fill");
        return url;
    }

    [Fact]
    public async Task A_refused_authorize_is_400_and_audited_in_the_dossier_with_a_failure_outcome()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));

        var (status, body) = await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$authorize", """{"resourceType":"Patient"}""");
        var (emptyStatus, emptyBody) = await patient.FhirPostAsync($"/fhir/Patient/{patientId}/$authorize");

        IsOutcome(body, HttpStatusCode.BadRequest, status);
        Assert.Contains("Patient", body.GetProperty("issue")[0].GetProperty("diagnostics").GetString(), StringComparison.Ordinal);
        IsOutcome(emptyBody, HttpStatusCode.BadRequest, emptyStatus);
        var events = new List<(string Action, string Outcome)>();
        await Seed.WriteAsync(async (c, t) => events.AddRange(await c.QueryAsync<(string, string)>(
            "SELECT action, outcome FROM audit_event WHERE patient_id = @Patient AND action = 'authorize' ORDER BY id;", new { Patient = patientId }, t)));
        Assert.Equal([("authorize", "invalid"), ("authorize", "invalid")], events);
        var (_, trail) = await patient.FhirGetAsync($"/fhir/AuditEvent?patient={patientId}");
        Assert.Contains(trail.GetProperty("entry").EnumerateArray(), e => e.GetProperty("resource").GetProperty("outcome").GetString() == "4");
    }

    [Fact]
    public async Task A_body_over_30_MB_is_a_413_with_a_body()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        using var patient = Seed.Client(DossierSeed.PatientToken(ins));
        var bytes = new byte[31 * 1024 * 1024];
        Array.Fill(bytes, (byte)' ');

        // Expect: 100-continue, as curl sends a large body: refused from its Content-Length before it is sent.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/fhir/Patient/{patientId}/$authorize") { Content = new ByteArrayContent(bytes) };
        request.Headers.ExpectContinue = true;
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/fhir+json");
        using var response = await patient.SendAsync(request);
        var body = await BodyAsync(response);

        IsOutcome(body, HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("too-long", body.GetProperty("issue")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_chunked_body_over_the_cap_is_stopped_while_read_and_answered_413_with_a_body()
    {
        var ins = DossierSeed.NewIns();
        var patientId = await Seed.PatientAsync(ins);
        // A raw connection: the request's head, then chunks past the route's cap without the last chunk; the answer is
        // read while the body is still unfinished, as Kestrel's limit stops it in the middle of the handler's read.
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(fixture.Gateway.Http);
        var stream = socket.GetStream();
        var head = $"POST /fhir/Patient/{patientId}/$authorize HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {DossierSeed.PatientToken(ins)}\r\n" +
                   "Content-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var chunk = Encoding.ASCII.GetBytes($"{16 * 1024:x}\r\n" + new string(' ', 16 * 1024) + "\r\n");
        for (var i = 0; i < (BodyContract.DefaultMaxBytes / (16 * 1024)) + 2; i++)
            await stream.WriteAsync(chunk);

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var status = await reader.ReadLineAsync();
        var answer = await reader.ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 413", status, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/fhir+json", answer, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"too-long\"", answer, StringComparison.Ordinal);
    }
}
