using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>
/// TLS and mutual TLS on the MLLP listener, with `openssl s_client` as the third-party TLS peer and
/// our own `send`.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class TlsInteropTests
{
    private const string Adt = "MSH|^~\\&|LAB|CHU-X|DMP|CHU-X|20240306111154||ADT^A08^ADT_A01|{0}|P|2.5\rPID|1||123^^^CHU-X^PI||DUPONT^JEAN\r";

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    [Fact(Timeout = 60_000)]
    public async Task Openssl_s_client_gets_AA_over_TLS_after_verifying_the_server_certificate()
    {
        var openssl = Peers.OpenSsl();
        using var pki = new TestCertificates();
        await using var gateway = await InteropGateway.StartAsync(pki.ServerSettings());

        var msa = await OpenSslSendAsync(openssl, gateway.MllpPort, pki, "TLS-OPENSSL-1");

        Assert.Equal("MSA|AA|TLS-OPENSSL-1", msa);
        Assert.Equal("AA", Assert.Single(await gateway.FindAsync("TLS-OPENSSL-1")).AckCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Send_over_TLS_gets_AA_when_it_trusts_the_CA_and_refuses_a_name_the_certificate_does_not_hold()
    {
        using var pki = new TestCertificates();
        using var dir = new InteropTempDir();
        var file = dir.Write("m.hl7", string.Format(CultureInfo.InvariantCulture, Adt, "TLS-SEND-1"));
        await using var gateway = await InteropGateway.StartAsync(pki.ServerSettings());
        var port = Port(gateway.MllpPort);

        var trusted = await CliRunner.RunAsync("send", file, "--port", port, "--tls", "--tls-ca", pki.CaPem, "--tls-server-name", "localhost", "--timeout", "10");
        var byIp = await CliRunner.RunAsync("send", file, "--host", "127.0.0.1", "--port", port, "--tls-ca", pki.CaPem, "--timeout", "10");
        var wrongName = await CliRunner.RunAsync("send", file, "--port", port, "--tls", "--tls-ca", pki.CaPem, "--tls-server-name", "mllp.example.org", "--retries", "0", "--timeout", "10");
        var untrusted = await CliRunner.RunAsync("send", file, "--port", port, "--tls", "--tls-server-name", "localhost", "--retries", "0", "--timeout", "10");
        var insecure = await CliRunner.RunAsync("send", file, "--port", port, "--tls", "--tls-insecure", "--timeout", "10");

        Assert.True(trusted.ExitCode == 0, $"exit {trusted.ExitCode}; {trusted.Stdout} {trusted.Stderr}");
        Assert.Equal($"{file}: MSA|AA|TLS-SEND-1", trusted.Stdout.Trim());
        Assert.True(byIp.ExitCode == 0, $"exit {byIp.ExitCode}; {byIp.Stdout} {byIp.Stderr}");
        Assert.Equal(1, wrongName.ExitCode);
        Assert.Contains("TLS", wrongName.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, untrusted.ExitCode);
        Assert.Equal(0, insecure.ExitCode);
        foreach (var run in new[] { wrongName, untrusted })
        {
            Assert.Equal("", run.Stdout);
            Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
        }
        // The resends were recognised: one row.
        Assert.Equal(3, Assert.Single(await gateway.FindAsync("TLS-SEND-1")).Receipts);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_plain_TCP_client_on_the_TLS_port_gets_no_ACK_and_nothing_is_stored()
    {
        using var pki = new TestCertificates();
        await using var gateway = await InteropGateway.StartAsync(pki.ServerSettings());

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(gateway.MllpEndPoint);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Frame(string.Format(CultureInfo.InvariantCulture, Adt, "PLAIN-1")));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
                received.Write(buffer, 0, read);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // Reset or silence: either way no answer.
        }

        Assert.False(timeout.IsCancellationRequested, "the listener kept a non-TLS connection open for 15 s");
        Assert.DoesNotContain("MSA", Encoding.Latin1.GetString(received.ToArray()), StringComparison.Ordinal);
        Assert.Empty(await gateway.AllAsync());
    }

    [Fact(Timeout = 90_000)]
    public async Task Mutual_TLS_accepts_an_allowed_thumbprint_and_refuses_no_certificate_or_another_one()
    {
        var openssl = Peers.OpenSsl();
        using var pki = new TestCertificates();
        using var dir = new InteropTempDir();
        var file = dir.Write("m.hl7", string.Format(CultureInfo.InvariantCulture, Adt, "MTLS-1"));
        var settings = pki.ServerSettings();
        settings["Dmp:Mllp:Tls:RequireClientCertificate"] = "true";
        settings["Dmp:Mllp:Tls:AllowedThumbprints:0"] = pki.ClientSha256.ToLowerInvariant();
        await using var gateway = await InteropGateway.StartAsync(settings);
        var port = Port(gateway.MllpPort);
        string[] tls = ["--port", port, "--tls", "--tls-ca", pki.CaPem, "--tls-server-name", "localhost", "--timeout", "10", "--retries", "0"];

        var allowed = await CliRunner.RunAsync(["send", file, .. tls, "--tls-cert", pki.ClientCertPem, "--tls-key", pki.ClientKeyPem]);
        var noCertificate = await CliRunner.RunAsync(["send", file, .. tls]);
        var rogue = await CliRunner.RunAsync(["send", file, .. tls, "--tls-cert", pki.RogueCertPem, "--tls-key", pki.RogueKeyPem]);
        var opensslAllowed = await OpenSslSendAsync(openssl, gateway.MllpPort, pki, "MTLS-OPENSSL-1", pki.ClientCertPem, pki.ClientKeyPem);

        Assert.True(allowed.ExitCode == 0, $"exit {allowed.ExitCode}; {allowed.Stdout} {allowed.Stderr}");
        Assert.Equal($"{file}: MSA|AA|MTLS-1", allowed.Stdout.Trim());
        Assert.Equal("MSA|AA|MTLS-OPENSSL-1", opensslAllowed);
        foreach (var refused in new[] { noCertificate, rogue })
        {
            Assert.Equal(1, refused.ExitCode);
            Assert.Equal("", refused.Stdout);
            Assert.Contains("no ACK", refused.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", refused.Stderr, StringComparison.Ordinal);
        }
        Assert.Contains("give --tls-cert and --tls-key", noCertificate.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, Assert.Single(await gateway.FindAsync("MTLS-1")).Receipts);
    }

    [Fact(Timeout = 90_000)]
    public async Task Mutual_TLS_with_a_client_CA_accepts_the_certificates_it_issued_only()
    {
        var openssl = Peers.OpenSsl();
        using var pki = new TestCertificates();
        using var dir = new InteropTempDir();
        var file = dir.Write("m.hl7", string.Format(CultureInfo.InvariantCulture, Adt, "MTLS-CA-1"));
        var settings = pki.ServerSettings();
        settings["Dmp:Mllp:Tls:RequireClientCertificate"] = "true";
        settings["Dmp:Mllp:Tls:ClientCaPath"] = pki.CaPem;
        await using var gateway = await InteropGateway.StartAsync(settings);
        string[] tls = ["--port", Port(gateway.MllpPort), "--tls", "--tls-ca", pki.CaPem, "--tls-server-name", "localhost", "--timeout", "10", "--retries", "0"];

        var issued = await CliRunner.RunAsync(["send", file, .. tls, "--tls-cert", pki.ClientCertPem, "--tls-key", pki.ClientKeyPem]);
        var rogue = await CliRunner.RunAsync(["send", file, .. tls, "--tls-cert", pki.RogueCertPem, "--tls-key", pki.RogueKeyPem]);
        var opensslIssued = await OpenSslSendAsync(openssl, gateway.MllpPort, pki, "MTLS-CA-OPENSSL-1", pki.ClientCertPem, pki.ClientKeyPem);
        var opensslRogue = await OpenSslSendAsync(openssl, gateway.MllpPort, pki, "MTLS-CA-OPENSSL-2", pki.RogueCertPem, pki.RogueKeyPem);

        Assert.True(issued.ExitCode == 0, $"exit {issued.ExitCode}; {issued.Stdout} {issued.Stderr}");
        Assert.Equal($"{file}: MSA|AA|MTLS-CA-1", issued.Stdout.Trim());
        Assert.Equal(1, rogue.ExitCode);
        Assert.Equal("MSA|AA|MTLS-CA-OPENSSL-1", opensslIssued);
        Assert.Null(opensslRogue);
        Assert.Empty(await gateway.FindAsync("MTLS-CA-OPENSSL-2"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_server_certificate_that_cannot_be_read_stops_serve_naming_the_setting()
    {
        using var pki = new TestCertificates();
        using var dir = new InteropTempDir();
        var notACertificate = dir.Write("server.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");

        var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={dir.Path}",
            "--Dmp:Mllp:Tls:Enabled=true", $"--Dmp:Mllp:Tls:CertificatePath={notACertificate}", $"--Dmp:Mllp:Tls:KeyPath={pki.ServerKeyPem}")
            .WaitAsync(TimeSpan.FromSeconds(45));

        Assert.Equal(64, code);
        Assert.Contains("Dmp:Mllp:Tls:CertificatePath", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// Sends one MLLP frame through `openssl s_client` (verifying the server against the test CA for
    /// `localhost`) and returns the ACK's MSA line, or null when none came.
    /// </summary>
    private static async Task<string?> OpenSslSendAsync(string openssl, int port, TestCertificates pki, string controlId, string? clientCert = null, string? clientKey = null)
    {
        List<string> args = ["s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-verify_hostname", "localhost",
            "-CAfile", pki.CaPem, "-verify_return_error", "-quiet"];
        if (clientCert is not null)
            args.AddRange(["-cert", clientCert, "-key", clientKey!]);
        await using var client = PeerProcess.Start(openssl, args);
        try
        {
            await client.StandardInput.WriteAsync(Frame(string.Format(CultureInfo.InvariantCulture, Adt, controlId)));
            await client.StandardInput.FlushAsync();
        }
        catch (IOException)
        {
            // s_client already ended: the gateway refused its certificate during the handshake (it failed once this way
            // on a clean-clone run). No ACK can come; the line below finds none.
        }
        // -quiet implies -ign_eof: s_client keeps reading the server after its stdin ends; it is
        // stopped (by PID) once the ACK came or the time is up.
        var msa = await client.WaitForLineAsync(l => l.StartsWith("MSA|", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        return msa?.TrimEnd('\r', '\x1c');
    }

    private static byte[] Frame(string message)
    {
        var payload = Encoding.UTF8.GetBytes(message);
        var frame = new byte[payload.Length + 3];
        frame[0] = 0x0B;
        payload.CopyTo(frame, 1);
        frame[^2] = 0x1C;
        frame[^1] = 0x0D;
        return frame;
    }
}
