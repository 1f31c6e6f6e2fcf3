using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>TLS and mutual TLS on the MLLP endpoint, from `Dmp:Mllp:Tls:*`.</summary>
public static class MllpTls
{
    public static void Configure(ListenOptions listen, MllpTlsOptions tls)
    {
        var certificate = LoadServerCertificate(tls);
        var allowed = tls.AllowedThumbprints.Select(t => t.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
        X509Certificate2? ca = tls.ClientCaPath is { } caPath ? X509CertificateLoader.LoadCertificateFromFile(caPath) : null;
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            ClientCertificateMode = tls.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.NoCertificate,
            ClientCertificateValidation = (client, _, errors) => IsClientAllowed(client, errors, allowed, ca),
            HandshakeTimeout = TimeSpan.FromSeconds(10),
        });
    }

    internal static bool IsClientAllowed(X509Certificate2 client, SslPolicyErrors errors, IReadOnlySet<string> allowedThumbprints, X509Certificate2? ca)
    {
        var sha256 = Convert.ToHexString(client.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256));
        if (allowedThumbprints.Contains(sha256) || allowedThumbprints.Contains(client.Thumbprint.ToUpperInvariant()))
            return true;
        if (ca is not null)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(client);
        }
        return allowedThumbprints.Count == 0 && errors == SslPolicyErrors.None;
    }

    public static X509Certificate2 LoadServerCertificate(MllpTlsOptions tls)
    {
        var path = tls.CertificatePath ?? throw new InvalidOperationException("Dmp:Mllp:Tls:CertificatePath is not set");
        if (tls.KeyPath is { } key)
        {
            using var pem = X509Certificate2.CreateFromPemFile(path, key);
            // Re-import so the private key is usable by SslStream on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        return X509CertificateLoader.LoadPkcs12FromFile(path, tls.Password);
    }
}
