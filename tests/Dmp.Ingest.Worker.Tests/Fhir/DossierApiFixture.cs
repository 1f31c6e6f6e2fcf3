using System.Net;
using System.Text.Json;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// One running gateway shared by a test class; every test seeds its own patients (fresh INS). The gateway's clock is a
/// <see cref="TestClock"/>, which the seed moves back while it feeds a document stored in the past.
/// </summary>
public sealed class DossierApiFixture : IAsyncLifetime
{
    internal TestGateway Gateway { get; private set; } = null!;
    internal DossierSeed Seed { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var clock = new TestClock();
        Gateway = await TestGateway.StartAsync(configure: b => b.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));
        Seed = new DossierSeed(Gateway);
    }

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

/// <summary>Reading FHIR answers in tests.</summary>
internal static class Fhir
{
    public const string AuthorRpps = "10000000001";
    public const string AuthorisedRpps = "10000000002";
    public const string TreatingRpps = "10000000003";
    public const string StrangerRpps = "10000000004";
    public const string OrgMemberRpps = "10000000005";

    public static async Task<(HttpStatusCode Status, JsonElement Body)> FhirGetAsync(this HttpClient client, string url, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (accept is not null)
            request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await BodyAsync(response));
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body)> FhirPostAsync(this HttpClient client, string url, string? json = null)
    {
        using var content = new StringContent(json ?? "", System.Text.Encoding.UTF8, "application/fhir+json");
        using var response = await client.PostAsync(url, content);
        return (response.StatusCode, await BodyAsync(response));
    }

    public static async Task<JsonElement> BodyAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The ids of the bundle's resources of this type, in order.</summary>
    public static List<long> Ids(this JsonElement bundle, string resourceType = "DocumentReference") =>
        bundle.TryGetProperty("entry", out var entries)
            ? entries.EnumerateArray()
                .Select(e => e.GetProperty("resource"))
                .Where(r => r.GetProperty("resourceType").GetString() == resourceType)
                .Select(r => long.Parse(r.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture))
                .ToList()
            : [];

    /// <summary>The served ids of the bundle's resources of this type, in order (entries the pipeline stored keep their resource id).</summary>
    public static List<string> ResourceIds(this JsonElement bundle, string resourceType) =>
        bundle.TryGetProperty("entry", out var entries)
            ? entries.EnumerateArray()
                .Select(e => e.GetProperty("resource"))
                .Where(r => r.GetProperty("resourceType").GetString() == resourceType)
                .Select(r => r.GetProperty("id").GetString()!)
                .ToList()
            : [];

    public static string? NextLink(this JsonElement bundle) =>
        bundle.GetProperty("link").EnumerateArray().Where(l => l.GetProperty("relation").GetString() == "next")
            .Select(l => l.GetProperty("url").GetString()).FirstOrDefault();

    public static string DocumentsOf(string ins) => "/fhir/DocumentReference?patient.identifier=" + Uri.EscapeDataString($"urn:oid:{DossierSeed.InsOid}|{ins}");

    public static void IsOutcome(JsonElement body, HttpStatusCode expected, HttpStatusCode actual)
    {
        Assert.Equal(expected, actual);
        Assert.Equal("OperationOutcome", body.GetProperty("resourceType").GetString());
    }
}
