using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dmp.Ingest.Worker.Tests.Interop;

/// <summary>
/// A throw-away PKI written as PEM files in a temp folder: a CA, a server certificate for
/// `localhost` / 127.0.0.1, a client certificate the CA issued, and a self-signed client
/// certificate nobody trusts.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    private readonly DirectoryInfo _dir;

    public TestCertificates()
    {
        _dir = Directory.CreateTempSubdirectory("dmp-pki-");
        var now = DateTimeOffset.UtcNow;

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=dmp-ingest test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        CaPem = Write("ca.pem", ca.ExportCertificatePem());

        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        (ServerCertPem, ServerKeyPem, _) = Issue("server", "CN=localhost", ca, now, san.Build(), "1.3.6.1.5.5.7.3.1");
        (ClientCertPem, ClientKeyPem, ClientSha256) = Issue("client", "CN=lab-sender", ca, now, null, "1.3.6.1.5.5.7.3.2");

        using var rogueKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rogueRequest = new CertificateRequest("CN=rogue-sender", rogueKey, HashAlgorithmName.SHA256);
        rogueRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var rogue = rogueRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        RogueCertPem = Write("rogue.pem", rogue.ExportCertificatePem());
        RogueKeyPem = Write("rogue.key", rogueKey.ExportPkcs8PrivateKeyPem());
    }

    public string CaPem { get; }
    public string ServerCertPem { get; }
    public string ServerKeyPem { get; }
    public string ClientCertPem { get; }
    public string ClientKeyPem { get; }
    /// <summary>SHA-256 of the CA-issued client certificate, upper-case hex.</summary>
    public string ClientSha256 { get; }
    public string RogueCertPem { get; }
    public string RogueKeyPem { get; }

    /// <summary>`Dmp:Mllp:Tls:*` for a TLS listener with the server certificate.</summary>
    public Dictionary<string, string?> ServerSettings() => new()
    {
        ["Dmp:Mllp:Tls:Enabled"] = "true",
        ["Dmp:Mllp:Tls:CertificatePath"] = ServerCertPem,
        ["Dmp:Mllp:Tls:KeyPath"] = ServerKeyPem,
    };

    private (string Cert, string Key, string Sha256) Issue(string name, string subject, X509Certificate2 ca, DateTimeOffset now, X509Extension? san, string eku)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(eku)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (san is not null)
            request.CertificateExtensions.Add(san);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var cert = request.Create(ca, now.AddDays(-1), now.AddDays(30), serial);
        var sha256 = Convert.ToHexString(cert.GetCertHash(HashAlgorithmName.SHA256));
        return (Write(name + ".pem", cert.ExportCertificatePem()), Write(name + ".key", key.ExportPkcs8PrivateKeyPem()), sha256);
    }

    private string Write(string name, string pem)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, pem);
        return path;
    }

    public void Dispose()
    {
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }
}
