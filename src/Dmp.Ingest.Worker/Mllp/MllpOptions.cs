using System.Net;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>When an MLLP sender gets its ACK.</summary>
public enum AckMode
{
    /// <summary>Once the message is durable in the inbox (mapping happens after).</summary>
    Commit,
    /// <summary>Once the message is mapped and applied (AE with ERR when that fails).</summary>
    Processed,
}

/// <summary>The MLLP listener (`Dmp:Mllp:*`).</summary>
public sealed class MllpOptions
{
    public const string Section = "Dmp:Mllp";

    public bool Enabled { get; set; } = true;
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests).</summary>
    public int Port { get; set; } = 2575;
    /// <summary>The channel name: the first part of every sender's identity (`mllp/APP|FACILITY`).</summary>
    public string Channel { get; set; } = "mllp";
    public AckMode AckMode { get; set; } = AckMode.Commit;
    /// <summary>With <see cref="AckMode.Processed"/>: how long an ACK waits for processing before the sender is left to resend.</summary>
    public int ProcessedAckTimeoutSeconds { get; set; } = 30;
    public long MaxFrameBytes { get; set; } = 16L * 1024 * 1024;
    public long MaxInFlightBytes { get; set; } = 256L * 1024 * 1024;
    public int MaxConnections { get; set; } = 1000;
    /// <summary>Open connections allowed from one IP address: one address cannot exhaust the listener.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 100;
    /// <summary>A connection silent for this long is closed.</summary>
    public int IdleTimeoutSeconds { get; set; } = 300;
    /// <summary>How long an oversize frame may keep streaming before the connection is cut.</summary>
    public int OversizeDrainSeconds { get; set; } = 30;
    /// <summary>Senders (`mllp/APP|FAC`) whose reused control ids are rejected with AE instead of stored with a warning.</summary>
    public List<string> StrictSenders { get; set; } = [];
    public MllpTlsOptions Tls { get; set; } = new();
    /// <summary>The senders allowed to connect, and the facilities (MSH-4.1) each may speak for. Empty: see <see cref="AllowAnySender"/>.</summary>
    public List<MllpSenderOptions> Senders { get; set; } = [];
    /// <summary>Without <see cref="Senders"/>, accept any sender although the listener is not on loopback.</summary>
    public bool AllowAnySender { get; set; }
    /// <summary>Send the accept ACK even when MSH-15 does not ask for it (NE), for senders that wait regardless.</summary>
    public bool AckWhenNotRequested { get; set; }

    /// <summary>True when <see cref="Host"/> only accepts connections from this machine.</summary>
    public bool ListensOnLoopback => Host == "localhost" || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>TLS and mutual TLS on the MLLP listener (`Dmp:Mllp:Tls:*`).</summary>
public sealed class MllpTlsOptions
{
    public bool Enabled { get; set; }
    /// <summary>PEM certificate (with `KeyPath`) or PKCS#12 file (with `Password`).</summary>
    public string? CertificatePath { get; set; }
    public string? KeyPath { get; set; }
    public string? Password { get; set; }
    /// <summary>Ask for and require a client certificate.</summary>
    public bool RequireClientCertificate { get; set; }
    /// <summary>SHA-256 (or SHA-1) thumbprints of accepted client certificates, hex.</summary>
    public List<string> AllowedThumbprints { get; set; } = [];
    /// <summary>A CA (PEM) whose issued client certificates are accepted.</summary>
    public string? ClientCaPath { get; set; }
}

/// <summary>Names the setting and the fix when the MLLP settings are wrong.</summary>
public sealed class MllpOptionsValidator : IValidateOptions<MllpOptions>
{
    public ValidateOptionsResult Validate(string? name, MllpOptions o)
    {
        var failures = new List<string>();
        if (o.Port is < 0 or > 65535)
            failures.Add($"Dmp:Mllp:Port is {o.Port}: use a TCP port between 1 and 65535 (0 picks a free one)");
        if (!IPAddress.TryParse(o.Host, out _) && o.Host != "localhost")
            failures.Add($"Dmp:Mllp:Host '{o.Host}' is not an IP address: use e.g. 127.0.0.1 or 0.0.0.0");
        if (o.MaxFrameBytes < 1024)
            failures.Add($"Dmp:Mllp:MaxFrameBytes is {o.MaxFrameBytes}: use at least 1024 (default 16777216)");
        if (o.MaxInFlightBytes < o.MaxFrameBytes)
            failures.Add("Dmp:Mllp:MaxInFlightBytes is below Dmp:Mllp:MaxFrameBytes: raise it (default 268435456)");
        if (o.MaxConnections < 1)
            failures.Add("Dmp:Mllp:MaxConnections must be at least 1");
        if (o.MaxConnectionsPerAddress < 1)
            failures.Add($"Dmp:Mllp:MaxConnectionsPerAddress is {o.MaxConnectionsPerAddress}: use at least 1 (default 100)");
        if (o.IdleTimeoutSeconds < 1)
            failures.Add("Dmp:Mllp:IdleTimeoutSeconds must be at least 1");
        if (string.IsNullOrWhiteSpace(o.Channel) || o.Channel.Contains('/', StringComparison.Ordinal))
            failures.Add("Dmp:Mllp:Channel must be a non-empty name without '/'");
        if (o.Tls.Enabled)
        {
            if (string.IsNullOrEmpty(o.Tls.CertificatePath))
                failures.Add("Dmp:Mllp:Tls:Enabled is true but Dmp:Mllp:Tls:CertificatePath is not set: give a PEM or PKCS#12 certificate");
            else if (!File.Exists(o.Tls.CertificatePath))
                failures.Add($"Dmp:Mllp:Tls:CertificatePath '{o.Tls.CertificatePath}' does not exist");
            if (o.Tls.KeyPath is { } key && !File.Exists(key))
                failures.Add($"Dmp:Mllp:Tls:KeyPath '{key}' does not exist");
            if (o.Tls.ClientCaPath is { } ca && !File.Exists(ca))
                failures.Add($"Dmp:Mllp:Tls:ClientCaPath '{ca}' does not exist");
        }
        ValidateSenders(o, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateSenders(MllpOptions o, List<string> failures)
    {
        // Anyone who reaches the port could speak for any facility: off loopback, say who may, or say that anyone may.
        if (o.Enabled && o.Senders.Count == 0 && !o.AllowAnySender && !o.ListensOnLoopback)
            failures.Add($"Dmp:Mllp:Host is {o.Host} (not loopback) but no Dmp:Mllp:Senders are configured: list the senders and their facilities, or set Dmp:Mllp:AllowAnySender=true to accept any sender");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < o.Senders.Count; i++)
        {
            var s = o.Senders[i];
            var key = $"{MllpOptions.Section}:Senders:{i}";
            if (string.IsNullOrWhiteSpace(s.Name))
                failures.Add($"{key}:Name is not set: give the sender a name (it is recorded on its messages as senderName)");
            else if (!names.Add(s.Name))
                failures.Add($"{key}:Name '{s.Name}' is used by another sender: give each sender its own name");
            if (s.Addresses.Count == 0 && s.Thumbprints.Count == 0)
                failures.Add($"{key}: give Addresses (IPs or CIDR blocks) or Thumbprints (client certificate SHA-256) or both, so a connection can be matched to it");
            foreach (var address in s.Addresses)
                if (!SenderDirectory.TryParseNetwork(address, out _))
                    failures.Add($"{key}:Addresses has '{address}': use an IP address or a CIDR block such as 10.1.2.0/24 or 2001:db8::/32");
            foreach (var thumbprint in s.Thumbprints)
                if (MllpTls.NormaliseThumbprint(thumbprint).Length != 64)
                    failures.Add($"{key}:Thumbprints has '{thumbprint}': use the certificate's SHA-256 thumbprint, 64 hex digits (openssl x509 -noout -fingerprint -sha256)");
            if (s.Thumbprints.Count > 0 && !o.Tls.Enabled)
                failures.Add($"{key}:Thumbprints needs mutual TLS: set Dmp:Mllp:Tls:Enabled=true with a server certificate");
            if (s.Facilities.Count(f => !string.IsNullOrWhiteSpace(f)) == 0)
                failures.Add($"{key}:Facilities is empty: list the MSH-4.1 values this sender may send for, or * for any");
        }
    }
}
