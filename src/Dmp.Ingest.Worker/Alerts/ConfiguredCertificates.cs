using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Mllp;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Alerts;

/// <summary>
/// The server certificates the gateway presents (MLLP TLS `Dmp:Mllp:Tls:*`, HTTPS `Dmp:Http:Tls:*`) and when each
/// expires, for the `certificate-expiry` rule. Read once: Kestrel loaded them at start and serves those until a restart.
/// </summary>
public sealed class ConfiguredCertificates(IOptions<MllpOptions> mllp, IOptions<HttpOptions> http, ILogger<ConfiguredCertificates> logger)
{
    private IReadOnlyList<(string Name, DateTimeOffset NotAfter)>? _expiries;

    /// <summary>Each configured certificate by listener name (`mllp`, `http`) with its NotAfter.</summary>
    public IReadOnlyList<(string Name, DateTimeOffset NotAfter)> Expiries => _expiries ??= Load();

    /// <summary>Days from <paramref name="now"/> to the earliest NotAfter (negative once expired); null when none is configured.</summary>
    public double? DaysLeft(DateTimeOffset now) =>
        Expiries.Count == 0 ? null : (Expiries.Min(e => e.NotAfter) - now).TotalDays;

    private List<(string, DateTimeOffset)> Load()
    {
        var found = new List<(string, DateTimeOffset)>();
        var m = mllp.Value;
        if (m.Enabled && m.Tls.Enabled && m.Tls.CertificatePath is not null)
            Add(found, "mllp", m.Tls.CertificatePath, m.Tls.KeyPath, m.Tls.Password, "Dmp:Mllp:Tls");
        var h = http.Value;
        if (h.TlsEnabled)
            Add(found, "http", h.Tls.CertificatePath, h.Tls.KeyPath, h.Tls.Password, HttpTlsOptions.Section);
        return found;
    }

    private void Add(List<(string, DateTimeOffset)> found, string name, string? path, string? key, string? password, string section)
    {
        try
        {
            var (certificate, chain) = MllpTls.LoadServerCertificate(path, key, password, section);
            found.Add((name, new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero)));
            certificate.Dispose();
            foreach (var other in chain)
                other.Dispose();
        }
        catch (InvalidOperationException e)
        {
            // The listener already refused to start on such a file; this only keeps the rule from measuring it.
            logger.LogWarning("certificate-expiry: {Section} cannot be read ({Error})", section, e.GetType().Name);
        }
    }
}
