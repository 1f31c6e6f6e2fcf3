using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Mllp;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Telemetry;

/// <summary>
/// The configured certificates' end of validity, read once at start as the listeners load them: `mllp`
/// (`Dmp:Mllp:Tls:CertificatePath`), `mllp-client-ca` (`Dmp:Mllp:Tls:ClientCaPath`, the earliest of its CAs) and `http`
/// (`Dmp:Http:Tls:CertificatePath`). A file that does not read is left out (the listener's start reports it). The metric
/// `dmp_certificate_expiry_seconds` and the `certificate-expiry` alert both read them here.
/// </summary>
public sealed class CertificateExpiry(IOptions<MllpOptions> mllp, IOptions<HttpOptions> http, TimeProvider time)
{
    private readonly Lazy<IReadOnlyList<(string Name, DateTimeOffset NotAfter)>> _certificates = new(() => Load(mllp.Value, http.Value));

    /// <summary>Each configured certificate by name, with its NotAfter.</summary>
    public IReadOnlyList<(string Name, DateTimeOffset NotAfter)> Certificates => _certificates.Value;

    /// <summary>Days from <paramref name="now"/> to the earliest NotAfter (negative once expired), for the `certificate-expiry` alert; null when none is configured.</summary>
    public double? DaysLeft(DateTimeOffset now) =>
        Certificates.Count == 0 ? null : (Certificates.Min(c => c.NotAfter) - now).TotalDays;

    /// <summary>Seconds until each certificate's NotAfter (negative once expired), tagged with its name.</summary>
    public IEnumerable<Measurement<double>> SecondsLeft()
    {
        var now = time.GetUtcNow();
        foreach (var (name, notAfter) in Certificates)
            yield return new Measurement<double>((notAfter - now).TotalSeconds, new KeyValuePair<string, object?>("name", name));
    }

    private static List<(string, DateTimeOffset)> Load(MllpOptions mllp, HttpOptions http)
    {
        var found = new List<(string, DateTimeOffset)>();
        if (mllp.Enabled && mllp.Tls.Enabled)
        {
            Add(found, "mllp", mllp.Tls.CertificatePath, mllp.Tls.Password, leafOnly: true);
            Add(found, "mllp-client-ca", mllp.Tls.ClientCaPath, null, leafOnly: false);
        }
        if (http.TlsEnabled)
            Add(found, "http", http.Tls.CertificatePath, http.Tls.Password, leafOnly: true);
        return found;
    }

    private static void Add(List<(string, DateTimeOffset)> found, string name, string? path, string? password, bool leafOnly)
    {
        if (string.IsNullOrEmpty(path))
            return;
        try
        {
            var certificates = Read(path, password);
            try
            {
                if (certificates.Count == 0)
                    return;
                var notAfter = leafOnly ? certificates[0].NotAfter : certificates.Min(c => c.NotAfter);
                found.Add((name, new DateTimeOffset(notAfter.ToUniversalTime(), TimeSpan.Zero)));
            }
            finally
            {
                foreach (var c in certificates)
                    c.Dispose();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // Not readable: the listener's own start names the setting and the file.
        }
    }

    /// <summary>The certificates of a PEM file (in file order), or of a PKCS#12 file.</summary>
    private static X509Certificate2Collection Read(string path, string? password)
    {
        var certificates = new X509Certificate2Collection();
        var bytes = File.ReadAllBytes(path);
        if (bytes.AsSpan().IndexOf("-----BEGIN"u8) >= 0)
        {
            certificates.ImportFromPem(System.Text.Encoding.ASCII.GetString(bytes));
            return certificates;
        }
        return X509CertificateLoader.LoadPkcs12Collection(bytes, password);
    }
}
