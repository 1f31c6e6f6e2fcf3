using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>
/// `Dmp:Mllp:Senders:N:Thumbprints` over mutual TLS: the client certificate picks the sender; a connection without one
/// (or pinned only by `Dmp:Mllp:Tls:AllowedThumbprints`) matches no sender and is refused frame by frame.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class SenderTlsTests
{
    [Fact(Timeout = 90_000)]
    public async Task The_client_certificate_names_the_sender_and_a_connection_without_a_known_one_is_refused()
    {
        using var pki = new TestCertificates();
        using var rogue = X509Certificate2.CreateFromPemFile(pki.RogueCertPem, pki.RogueKeyPem);
        var settings = pki.ServerSettings();
        settings["Dmp:Mllp:Senders:0:Name"] = "cert-lab";
        settings["Dmp:Mllp:Senders:0:Thumbprints:0"] = pki.ClientSha256.ToLowerInvariant();
        settings["Dmp:Mllp:Senders:0:Facilities:0"] = "FAC";
        // Pinned for the handshake by the older setting, but no sender has it: both lists are honoured.
        settings["Dmp:Mllp:Tls:AllowedThumbprints:0"] = Convert.ToHexString(rogue.GetCertHash(HashAlgorithmName.SHA256));
        await using var gateway = await TestGateway.StartAsync(settings);

        var known = await SendOverTlsAsync(gateway, X509Certificate2.CreateFromPemFile(pki.ClientCertPem, pki.ClientKeyPem), "TLS-KNOWN");
        var pinnedOnly = await SendOverTlsAsync(gateway, rogue, "TLS-PINNED-ONLY");

        Assert.Equal(("AA", "TLS-KNOWN"), (known.Code, known.ControlId));
        Assert.Equal("cert-lab", (await gateway.SingleAsync("TLS-KNOWN")).Str("senderName"));
        Assert.Equal("AR", pinnedOnly.Code);
        Assert.Equal("no configured sender matches this connection (Dmp:Mllp:Senders)", pinnedOnly.Text);
        Assert.Equal("rejected", (await gateway.SingleAsync("TLS-PINNED-ONLY")).Str("status"));
    }

    [Fact(Timeout = 90_000)]
    public async Task Senders_known_by_certificate_beside_senders_known_by_address_ask_for_a_certificate_without_requiring_one()
    {
        using var pki = new TestCertificates();
        using var rogue = X509Certificate2.CreateFromPemFile(pki.RogueCertPem, pki.RogueKeyPem);
        var settings = pki.ServerSettings();
        settings["Dmp:Mllp:Senders:0:Name"] = "cert-lab";
        settings["Dmp:Mllp:Senders:0:Thumbprints:0"] = pki.ClientSha256;
        settings["Dmp:Mllp:Senders:0:Facilities:0"] = "CERT-ONLY";
        settings["Dmp:Mllp:Senders:1:Name"] = "by-address";
        settings["Dmp:Mllp:Senders:1:Addresses:0"] = "127.0.0.1";
        settings["Dmp:Mllp:Senders:1:Facilities:0"] = "FAC";
        await using var gateway = await TestGateway.StartAsync(settings);

        var noCertificate = await SendOverTlsAsync(gateway, null, "TLS-NO-CERT");
        // A certificate no list holds is still refused at the handshake.
        await Assert.ThrowsAnyAsync<Exception>(() => SendOverTlsAsync(gateway, rogue, "TLS-ROGUE"));

        Assert.Equal(("AA", "TLS-NO-CERT"), (noCertificate.Code, noCertificate.ControlId));
        Assert.Equal("by-address", (await gateway.SingleAsync("TLS-NO-CERT")).Str("senderName"));
        Assert.Empty(await gateway.MessagesAsync("controlId=TLS-ROGUE"));
    }

    private static async Task<Hl7Samples.Answer> SendOverTlsAsync(TestGateway gateway, X509Certificate2? certificate, string controlId)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(gateway.Mllp);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = certificate is null ? null : [certificate],
            EnabledSslProtocols = SslProtocols.None,
        }, timeout.Token);
        await tls.WriteAsync(MllpTestClient.Frame(Hl7Samples.Adt(controlId)), timeout.Token);
        var answer = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var read = await tls.ReadAsync(buffer, timeout.Token);
            if (read == 0)
                throw new IOException("the server closed the connection without an answer");
            answer.AddRange(buffer.AsSpan(0, read));
            if (answer.Count >= 2 && answer[^2] == 0x1C && answer[^1] == 0x0D)
                break;
        }
        return Hl7Samples.ReadAck(answer.Skip(1).Take(answer.Count - 3).ToArray());
    }
}
