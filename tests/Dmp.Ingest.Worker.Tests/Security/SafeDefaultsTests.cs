using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Cli;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Mllp;
using Microsoft.Extensions.Logging;

namespace Dmp.Ingest.Worker.Tests.Security;

/// <summary>
/// Safe defaults of a real start: the data the gateway writes is its account's alone (0700 folders, 0600 files), the API
/// speaks HTTPS with `Dmp:Http:Tls:*`, and it refuses to listen beyond loopback with development auth or plain HTTP
/// unless `Dmp:Http:AllowInsecure=true`.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class SafeDefaultsTests
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task The_data_folder_a_start_creates_is_0700_and_every_file_and_folder_in_it_private()
    {
        if (OperatingSystem.IsWindows())
            return; // Unix modes only
        var parent = Directory.CreateTempSubdirectory("dmp-modes-");
        var data = Path.Combine(parent.FullName, "gateway", "data"); // two levels the gateway creates
        try
        {
            await using (var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:DataDir"] = data }))
            {
                await using var client = await gateway.ConnectAsync();
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(CorpusFeed.LabReport(71))).Code);
                var row = Assert.Single(await gateway.MessagesAsync());
                await gateway.WaitForStatusAsync(row.Id(), "processed");

                var files = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).ToList();
                Assert.Contains(Path.Combine(data, "dmp.db"), files);
                Assert.Contains(Path.Combine(data, "dmp.db-wal"), files);
                Assert.Contains(files, f => f.StartsWith(Path.Combine(data, "blobs") + Path.DirectorySeparatorChar, StringComparison.Ordinal));
                foreach (var f in files)
                    Assert.True(File.GetUnixFileMode(f) == File600, $"{f} is {Octal(f)}, expected 600");
                var folders = Directory.EnumerateDirectories(data, "*", SearchOption.AllDirectories).Append(data).Append(Path.GetDirectoryName(data)!).ToList();
                Assert.Contains(Path.Combine(data, "blobs"), folders);
                foreach (var d in folders)
                    Assert.True(File.GetUnixFileMode(d) == Folder, $"{d} is {Octal(d)}, expected 700");
            }
        }
        finally
        {
            parent.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_existing_data_folder_open_to_others_keeps_its_mode_and_gets_one_warning_naming_it()
    {
        if (OperatingSystem.IsWindows())
            return;
        var data = Directory.CreateTempSubdirectory("dmp-open-");
        const UnixFileMode open = Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(data.FullName, open);
        var logs = new CapturingLogs();
        try
        {
            await using (await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:DataDir"] = data.FullName }, b => b.Logging.AddProvider(logs)))
            {
                var warning = Assert.Single(logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("Data folder", StringComparison.Ordinal));
                Assert.Contains(data.FullName, warning.Text, StringComparison.Ordinal);
                Assert.Contains("755", warning.Text, StringComparison.Ordinal);
                Assert.Equal(open, File.GetUnixFileMode(data.FullName));
                Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(data.FullName, "dmp.db"))); // new files are private all the same
            }
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_private_existing_data_folder_gets_no_warning()
    {
        if (OperatingSystem.IsWindows())
            return;
        var data = Directory.CreateTempSubdirectory("dmp-closed-");
        File.SetUnixFileMode(data.FullName, Folder);
        var logs = new CapturingLogs();
        try
        {
            await using (await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:DataDir"] = data.FullName }, b => b.Logging.AddProvider(logs)))
                Assert.DoesNotContain(logs.Lines, l => l.Text.Contains("Data folder", StringComparison.Ordinal));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("pem")]
    [InlineData("pem-one-file")]
    [InlineData("pkcs12")]
    public async Task The_api_speaks_https_with_the_configured_certificate(string format)
    {
        var folder = Directory.CreateTempSubdirectory("dmp-https-");
        try
        {
            using var certificate = SelfSigned();
            var settings = Certificate(folder.FullName, certificate, format);
            await using var gateway = await TestGateway.StartAsync(settings);
            var port = gateway.Http.Port;
            using var https = PinnedClient(certificate, port);

            using var health = await https.GetAsync("/health/ready");
            using var messages = await https.GetAsync("/api/messages");

            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal(HttpStatusCode.OK, messages.StatusCode);
            // Plain HTTP on that port gets no answer from the API.
            using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            plain.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.Token(DmpClaims.Operator));
            try
            {
                using var answer = await plain.GetAsync("/api/messages");
                Assert.NotEqual(HttpStatusCode.OK, answer.StatusCode);
            }
            catch (HttpRequestException)
            {
                // the connection is closed: as expected
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_api_certificate_that_cannot_be_read_or_used_is_one_line_naming_the_http_key()
    {
        var data = Directory.CreateTempSubdirectory("dmp-https-bad-");
        try
        {
            string[] Serve(params string[] more) =>
                ["serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}", .. more];
            var missing = Path.Combine(data.FullName, "nope.pem");
            using var certificate = SelfSigned();
            var keyless = Path.Combine(data.FullName, "keyless.crt");
            File.WriteAllText(keyless, certificate.ExportCertificatePem());

            var (absent, _, absentErr) = await CliRunner.RunAsync(Serve($"--Dmp:Http:Tls:CertificatePath={missing}"));
            var (unusable, _, unusableErr) = await CliRunner.RunAsync(Serve($"--Dmp:Http:Tls:CertificatePath={keyless}"));
            var (orphan, _, orphanErr) = await CliRunner.RunAsync(Serve($"--Dmp:Http:Tls:KeyPath={keyless}"));

            Assert.Equal(ExitCodes.Unavailable, absent);
            Assert.StartsWith($"error: Dmp:Http:Tls:CertificatePath '{missing}': cannot read the certificate: no such file", Assert.Single(Lines(absentErr)), StringComparison.Ordinal);
            Assert.Equal(ExitCodes.Usage, unusable);
            Assert.StartsWith($"error: Dmp:Http:Tls:CertificatePath '{keyless}'", Assert.Single(Lines(unusableErr)), StringComparison.Ordinal);
            Assert.Equal(ExitCodes.Usage, orphan);
            Assert.Contains("Dmp:Http:Tls:CertificatePath is not", Assert.Single(Lines(orphanErr)), StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static string[] Lines(string text) => text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    [Theory]
    [InlineData("0.0.0.0", false, false, "development authentication", "plain HTTP")]
    [InlineData("::", false, false, "development authentication", "plain HTTP")]
    [InlineData("0.0.0.0", true, false, "development authentication", null)]
    [InlineData("0.0.0.0", false, true, "plain HTTP", null)]
    public async Task Binding_the_api_beyond_loopback_insecurely_refuses_to_start_in_one_line_naming_the_keys(string host, bool tls, bool authority, string lacks, string? alsoLacks)
    {
        var data = Directory.CreateTempSubdirectory("dmp-exposed-");
        try
        {
            var args = new List<string> { "serve", $"--Dmp:Http:Host={host}", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}" };
            if (tls)
            {
                using var certificate = SelfSigned();
                args.AddRange(Certificate(data.FullName, certificate, "pem").Select(p => $"--{p.Key}={p.Value}"));
            }
            if (authority)
                args.Add("--Dmp:Auth:Authority=https://127.0.0.1:9/realms/dmp");

            var (code, stdout, stderr) = await CliRunner.RunAsync([.. args]);

            Assert.Equal(ExitCodes.Usage, code);
            var line = Assert.Single(stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"error: invalid configuration: Dmp:Http:Host is {host}, beyond loopback", line, StringComparison.Ordinal);
            Assert.Contains(lacks, line, StringComparison.Ordinal);
            Assert.Contains(tls ? "Dmp:Auth:Authority" : "Dmp:Http:Tls:CertificatePath", line, StringComparison.Ordinal);
            Assert.Contains("Dmp:Http:AllowInsecure=true", line, StringComparison.Ordinal);
            if (alsoLacks is not null)
                Assert.Contains(alsoLacks, line, StringComparison.Ordinal);
            else
                Assert.DoesNotContain(tls ? "plain HTTP" : "development authentication", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Allowed_explicitly_the_exposed_api_starts_and_says_so_once()
    {
        var logs = new CapturingLogs();
        await using var gateway = await TestGateway.StartAsync(
            new Dictionary<string, string?> { ["Dmp:Http:Host"] = "0.0.0.0", ["Dmp:Http:AllowInsecure"] = "true" }, b => b.Logging.AddProvider(logs));
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gateway.Http.Port}"), Timeout = TestGateway.Patience };

        using var live = await api.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var warning = Assert.Single(logs.Lines, l => l.Level == LogLevel.Warning && l.Text.Contains("beyond loopback", StringComparison.Ordinal));
        Assert.Contains("Dmp:Http:AllowInsecure=true", warning.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    [InlineData("::1")]
    public async Task Loopback_with_development_auth_and_plain_http_still_starts_without_a_warning(string host)
    {
        var logs = new CapturingLogs();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Http:Host"] = host }, b => b.Logging.AddProvider(logs));

        Assert.True(IPAddress.IsLoopback(gateway.Http.Address));
        Assert.DoesNotContain(logs.Lines, l => l.Text.Contains("beyond loopback", StringComparison.Ordinal));
    }

    /// <summary>A self-signed server certificate for 127.0.0.1 and localhost, made for this test.</summary>
    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=dmp-ingest test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>Writes the certificate as <paramref name="format"/> and returns the settings that name it.</summary>
    private static Dictionary<string, string?> Certificate(string folder, X509Certificate2 certificate, string format)
    {
        var key = certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();
        switch (format)
        {
            case "pem":
                File.WriteAllText(Path.Combine(folder, "api.crt"), certificate.ExportCertificatePem());
                File.WriteAllText(Path.Combine(folder, "api.key"), key);
                return new() { ["Dmp:Http:Tls:CertificatePath"] = Path.Combine(folder, "api.crt"), ["Dmp:Http:Tls:KeyPath"] = Path.Combine(folder, "api.key") };
            case "pem-one-file":
                File.WriteAllText(Path.Combine(folder, "api.pem"), certificate.ExportCertificatePem() + "\n" + key);
                return new() { ["Dmp:Http:Tls:CertificatePath"] = Path.Combine(folder, "api.pem") };
            default:
                File.WriteAllBytes(Path.Combine(folder, "api.p12"), certificate.Export(X509ContentType.Pkcs12, "p12-secret"));
                return new() { ["Dmp:Http:Tls:CertificatePath"] = Path.Combine(folder, "api.p12"), ["Dmp:Http:Tls:Password"] = "p12-secret" };
        }
    }

    /// <summary>An operator client over HTTPS that trusts exactly <paramref name="certificate"/> (its SHA-256 pinned).</summary>
    private static HttpClient PinnedClient(X509Certificate2 certificate, int port)
    {
        var pinned = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                    presented is not null && presented.GetCertHashString(HashAlgorithmName.SHA256) == pinned,
            },
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}"), Timeout = TestGateway.Patience };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.Token(DmpClaims.Operator));
        return client;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static string Octal(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);

    /// <summary>Every log line of the host, with its level.</summary>
    private sealed class CapturingLogs : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();
        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception)));
        public void Dispose() { }
    }
}
