using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>TLS and mutual TLS on the MLLP endpoint, from `Dmp:Mllp:Tls:*`.</summary>
public static class MllpTls
{
    /// <param name="senderThumbprints">`Dmp:Mllp:Senders:N:Thumbprints`: accepted at the handshake too (the sender list then decides what each may send).</param>
    public static void Configure(ListenOptions listen, MllpTlsOptions tls, IEnumerable<string>? senderThumbprints = null)
    {
        var (certificate, chain) = LoadServerCertificate(tls);
        var pinned = tls.AllowedThumbprints.Select(NormaliseThumbprint).Where(t => t.Length > 0).ToHashSet(StringComparer.Ordinal);
        var senders = (senderThumbprints ?? []).Select(NormaliseThumbprint).Where(t => t.Length > 0).ToHashSet(StringComparer.Ordinal);
        var allowed = pinned.Union(senders).ToHashSet(StringComparer.Ordinal);
        var cas = tls.ClientCaPath is { } caPath ? LoadCertificates(caPath, "Dmp:Mllp:Tls:ClientCaPath") : null;
        // An allow-list or a client CA only means something when certificates are asked for: either one turns it on.
        var requireClientCertificate = tls.RequireClientCertificate || pinned.Count > 0 || cas is not null;
        // Senders known by certificate beside senders known by address alone: a certificate is asked for, not required.
        var mode = requireClientCertificate ? ClientCertificateMode.RequireCertificate
            : senders.Count > 0 ? ClientCertificateMode.AllowCertificate
            : ClientCertificateMode.NoCertificate;
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ServerCertificateChain = chain,
            ClientCertificateMode = mode,
            ClientCertificateValidation = (client, _, errors) => IsClientAllowed(client, errors, allowed, cas),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
    }

    /// <summary>Upper-case hex without separators (`AB:CD…`, `ab cd…` and `abcd…` are the same thumbprint).</summary>
    internal static string NormaliseThumbprint(string thumbprint) =>
        new string(thumbprint.Where(Uri.IsHexDigit).ToArray()).ToUpperInvariant();

    internal static bool IsClientAllowed(X509Certificate2 client, SslPolicyErrors errors, IReadOnlySet<string> allowedThumbprints, X509Certificate2Collection? cas)
    {
        var now = DateTime.Now;
        var sha256 = Convert.ToHexString(client.GetCertHash(HashAlgorithmName.SHA256));
        if (allowedThumbprints.Contains(sha256) || allowedThumbprints.Contains(client.Thumbprint.ToUpperInvariant()))
            return client.NotBefore <= now && now <= client.NotAfter; // a pinned certificate still expires.
        if (cas is not null)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(cas);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            // A client certificate, not a server one: TLS client authentication (1.3.6.1.5.5.7.3.2) when it says what it is for.
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2"));
            try
            {
                return chain.Build(client);
            }
            finally
            {
                foreach (var element in chain.ChainElements)
                    element.Certificate.Dispose();
            }
        }
        return allowedThumbprints.Count == 0 && errors == SslPolicyErrors.None;
    }

    /// <summary>The server certificate with its private key, and the other certificates of its file (the chain to send).</summary>
    /// <exception cref="InvalidOperationException">The file cannot be read; the message names the setting.</exception>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadServerCertificate(MllpTlsOptions tls) =>
        LoadServerCertificate(tls.CertificatePath, tls.KeyPath, tls.Password, "Dmp:Mllp:Tls");

    /// <summary>The same loading for any listener's settings (`Dmp:Http:Tls` too); <paramref name="section"/> names them in errors.</summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain) LoadServerCertificate(string? certificateFile, string? keyFile, string? password, string section)
    {
        var tls = (KeyPath: keyFile, Password: password);
        var path = certificateFile ?? throw new InvalidOperationException($"{section}:CertificatePath is not set");
        try
        {
            X509Certificate2 certificate;
            var chain = new X509Certificate2Collection();
            if (tls.KeyPath is not null || IsPem(path))
            {
                var keyPath = tls.KeyPath ?? path; // a PEM file may hold the key beside the certificate.
                using var pem = string.IsNullOrEmpty(tls.Password)
                    ? X509Certificate2.CreateFromPemFile(path, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, tls.Password, keyPath);
                // Re-import so the private key is usable by SslStream on every platform.
                certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                var all = new X509Certificate2Collection();
                all.ImportFromPemFile(path);
                foreach (var other in all)
                {
                    if (other.Thumbprint != certificate.Thumbprint)
                        chain.Add(other);
                    else
                        other.Dispose();
                }
            }
            else
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, tls.Password);
            }
            if (!certificate.HasPrivateKey)
                throw new InvalidOperationException($"{section}:CertificatePath '{path}' has no private key: give {section}:KeyPath or a PKCS#12 file");
            return (certificate, chain);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new InvalidOperationException($"{section}:CertificatePath '{path}'{(tls.KeyPath is { } k ? $" with {section}:KeyPath '{k}'" : "")}: cannot load the certificate: {e.Message}", e);
        }
    }

    private static X509Certificate2Collection LoadCertificates(string path, string setting)
    {
        try
        {
            var certificates = new X509Certificate2Collection();
            if (IsPem(path))
                certificates.ImportFromPemFile(path); // every CA of a bundle
            else
                certificates.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            if (certificates.Count == 0)
                throw new InvalidOperationException($"{setting} '{path}' holds no certificate");
            return certificates;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{setting} '{path}': cannot load the certificate: {e.Message}", e);
        }
    }

    private static bool IsPem(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            Span<byte> head = stackalloc byte[64];
            var read = file.Read(head);
            return head[..read].IndexOf("-----BEGIN"u8) >= 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // the loader reports it.
        }
    }
}
