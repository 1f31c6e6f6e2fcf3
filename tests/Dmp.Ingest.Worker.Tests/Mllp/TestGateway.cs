using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>
/// The whole gateway in-process: its own temporary data folder, HTTP and MLLP on free loopback ports,
/// a known signing key, and an HTTP client holding an operator token. Disposing stops it and deletes the folder.
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    public const string SigningKey = "dmp-ingest-tests-signing-key-0123456789-abcdef";
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private readonly DirectoryInfo _dataDir;

    private TestGateway(WebApplication app, DirectoryInfo dataDir)
    {
        _app = app;
        _dataDir = dataDir;
        var endpoints = app.Services.GetRequiredService<ListenerEndpoints>();
        Mllp = endpoints.MllpEndPoint!;
        Http = endpoints.HttpEndPoint!;
        Api = new HttpClient { BaseAddress = new Uri($"http://{Http}"), Timeout = Patience };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(DmpClaims.Operator));
        Anonymous = new HttpClient { BaseAddress = new Uri($"http://{Http}"), Timeout = Patience };
    }

    public IPEndPoint Mllp { get; }
    public IPEndPoint Http { get; }
    /// <summary>Operator-authenticated client of the HTTP API.</summary>
    public HttpClient Api { get; }
    public HttpClient Anonymous { get; }
    public IServiceProvider Services => _app.Services;

    /// <param name="configure">Runs last on the host's builder: a test replaces a service there (a fake TimeProvider …).</param>
    public static async Task<TestGateway> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var dataDir = Directory.CreateTempSubdirectory("dmp-mllp-");
        var overrides = new Dictionary<string, string?>
        {
            ["Dmp:Http:Port"] = "0",
            ["Dmp:Mllp:Port"] = "0",
            ["Dmp:DataDir"] = dataDir.FullName,
            ["Dmp:Auth:SigningKey"] = SigningKey,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            overrides[key] = value;
        var app = GatewayHost.Build(overrides, configure);
        try
        {
            using var timeout = new CancellationTokenSource(Patience);
            await app.StartAsync(timeout.Token);
        }
        catch
        {
            await app.DisposeAsync();
            dataDir.Delete(recursive: true);
            throw;
        }
        return new TestGateway(app, dataDir);
    }

    public static string Token(string role, string? ins = null) =>
        TokenIssuer.Issue(Encoding.UTF8.GetBytes(SigningKey), "dmp-ingest", role, ins, null, null, TimeSpan.FromHours(1));

    public Task<MllpTestClient> ConnectAsync() => MllpTestClient.ConnectAsync(Mllp);

    /// <summary>An HTTP client of this gateway holding <paramref name="token"/> (and an emergency reason when given).</summary>
    public HttpClient Client(string token, string? breakGlassReason = null)
    {
        // A request sent with Expect: 100-continue waits for the server's answer instead of HttpClient's 1 s default:
        // a loaded machine answers 413 later than that, and a body sent meanwhile meets a closed connection.
        var handler = new SocketsHttpHandler { Expect100ContinueTimeout = Patience };
        var client = new HttpClient(handler) { BaseAddress = new Uri($"http://{Http}"), Timeout = Patience };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (breakGlassReason is not null)
            client.DefaultRequestHeaders.Add("X-Break-Glass-Reason", breakGlassReason);
        return client;
    }

    public Task<IReadOnlyList<JsonElement>> MessagesAsync(string query = "") => Messages(Api, query);

    /// <summary>Every row matching the query (all pages, newest first).</summary>
    public static async Task<IReadOnlyList<JsonElement>> Messages(HttpClient api, string query = "")
    {
        var items = new List<JsonElement>();
        string? url = "/api/messages?limit=1000" + (query.Length > 0 ? "&" + query : "");
        while (url is not null)
        {
            using var response = await api.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            items.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.Clone()));
            url = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        return items;
    }

    public async Task<JsonElement> SingleAsync(string controlId)
    {
        var rows = await MessagesAsync("controlId=" + Uri.EscapeDataString(controlId));
        return Assert.Single(rows);
    }

    public async Task<JsonElement> GetAsync(long id)
    {
        using var response = await Api.GetAsync($"/api/messages/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Polls a message until its status is one of <paramref name="statuses"/> (fails after a generous wait).</summary>
    public async Task<JsonElement> WaitForStatusAsync(long id, params string[] statuses)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var message = await GetAsync(id);
            if (statuses.Contains(message.GetProperty("status").GetString()))
                return message;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"message {id} stayed {message.GetProperty("status").GetString()}, expected {string.Join(" or ", statuses)}: {message}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        Anonymous.Dispose();
        try
        {
            using var timeout = new CancellationTokenSource(Patience);
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _dataDir.Delete(recursive: true);
        }
    }
}

internal static class JsonExtensions
{
    public static string? Str(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind != JsonValueKind.Null ? p.ToString() : null;

    public static long Id(this JsonElement e) => e.GetProperty("id").GetInt64();

    public static IReadOnlyList<string> Warnings(this JsonElement e) =>
        e.TryGetProperty("warnings", out var w) && w.ValueKind == JsonValueKind.Array ? w.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
}
