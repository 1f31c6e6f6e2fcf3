using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>One configured MLLP sender (`Dmp:Mllp:Senders:N:*`): who it is on the wire and which facilities it speaks for.</summary>
public sealed class MllpSenderOptions
{
    /// <summary>The name recorded on its messages (`senderName`), in the log and, later, in metrics.</summary>
    public string Name { get; set; } = "";
    /// <summary>IP addresses or CIDR blocks (IPv4 or IPv6) the sender connects from; empty: any address.</summary>
    public List<string> Addresses { get; set; } = [];
    /// <summary>SHA-256 thumbprints (hex) of the client certificates it presents over mutual TLS; empty: no certificate needed.</summary>
    public List<string> Thumbprints { get; set; } = [];
    /// <summary>MSH-4.1 values it may send for; `*` for any.</summary>
    public List<string> Facilities { get; set; } = [];
    /// <summary>Overrides `Dmp:Mllp:AckWhenNotRequested` for this sender.</summary>
    public bool? AckWhenNotRequested { get; set; }
}

/// <summary>A sender a connection or a file source was matched to: the name recorded on its messages, and what it may do.</summary>
public sealed record MatchedSender(string Name, IReadOnlySet<string> Facilities, bool AckWhenNotRequested)
{
    /// <summary>True when the sender may speak for <paramref name="facility"/> (MSH-4.1).</summary>
    public bool Allows(string? facility) => Facilities.Contains("*") || (facility is not null && Facilities.Contains(facility));
}

/// <summary>What a connection (or a file source) may send, decided once when it opens; consulted for each of its frames.</summary>
public sealed class SenderAuthority
{
    private readonly IReadOnlyList<MatchedSender> _matched;
    private readonly bool _open;

    private SenderAuthority(IReadOnlyList<MatchedSender> matched, bool open, bool ackWhenNotRequested)
    {
        _matched = matched;
        _open = open;
        AckWhenNotRequested = ackWhenNotRequested;
    }

    /// <summary>No sender list applies (none configured, loopback or `AllowAnySender`): every facility is accepted, no name recorded.</summary>
    public static SenderAuthority Anyone(bool ackWhenNotRequested) => new([], true, ackWhenNotRequested);

    /// <summary>The senders a connection matched, in configuration order (none: every frame is refused).</summary>
    public static SenderAuthority Of(IReadOnlyList<MatchedSender> matched, bool ackWhenNotRequested) => new(matched, false, ackWhenNotRequested);

    /// <summary>True when a sender list applies: each frame's facility is checked.</summary>
    public bool Checked => !_open;

    /// <summary>True when a sender list applies and the connection matched none of its senders.</summary>
    public bool Unmatched => !_open && _matched.Count == 0;

    /// <summary>The listener-wide `AckWhenNotRequested`, for frames no sender is found for.</summary>
    public bool AckWhenNotRequested { get; }

    /// <summary>
    /// The sender a frame from <paramref name="facility"/> (MSH-4.1) comes from: the first matched sender that allows
    /// the facility. Otherwise the refusal, safe to log and to send in ERR (it names the facility and the sender, no patient data).
    /// </summary>
    public (MatchedSender? Sender, string? Refusal) Authorise(string? facility)
    {
        if (_open)
            return (null, null);
        if (_matched.Count == 0)
            return (null, "no configured sender matches this connection (Dmp:Mllp:Senders)");
        foreach (var sender in _matched)
            if (sender.Allows(facility))
                return (sender, null);
        var names = _matched.Count == 1 ? "sender " + _matched[0].Name : "senders " + string.Join(", ", _matched.Select(s => s.Name));
        var what = string.IsNullOrEmpty(facility) ? "an empty facility (MSH-4.1)" : $"facility {facility}";
        return (_matched[0], $"{what} is not allowed for {names}");
    }

    /// <summary>The first matched sender (the name an operator sees on a refused frame), or null.</summary>
    public MatchedSender? First => _matched.Count > 0 ? _matched[0] : null;
}

/// <summary>
/// The configured MLLP senders (`Dmp:Mllp:Senders`), parsed once: matches a connection by its address and client
/// certificate. A sender with addresses and thumbprints needs both; one with only one of them needs that one.
/// </summary>
public sealed class SenderDirectory
{
    private readonly IReadOnlyList<Entry> _entries;
    private readonly bool _enforced;
    private readonly bool _ackWhenNotRequested;

    public SenderDirectory(IOptions<MllpOptions> options)
    {
        var o = options.Value;
        _ackWhenNotRequested = o.AckWhenNotRequested;
        _enforced = o.Senders.Count > 0;
        _entries = o.Senders.Select(s => new Entry(
            new MatchedSender(s.Name, s.Facilities.Select(f => f.Trim()).Where(f => f.Length > 0).ToHashSet(StringComparer.Ordinal), s.AckWhenNotRequested ?? o.AckWhenNotRequested),
            s.Addresses.Select(a => TryParseNetwork(a, out var n) ? n : throw new InvalidOperationException($"not an address: {a}")).ToList(),
            s.Thumbprints.Select(MllpTls.NormaliseThumbprint).Where(t => t.Length > 0).ToHashSet(StringComparer.Ordinal))).ToList();
    }

    /// <summary>True when senders are configured: every connection must match one.</summary>
    public bool Enforced => _enforced;

    /// <summary>What a connection from <paramref name="remote"/> with <paramref name="certificate"/> (mutual TLS) may send.</summary>
    public SenderAuthority Match(IPAddress? remote, X509Certificate2? certificate)
    {
        if (!_enforced)
            return SenderAuthority.Anyone(_ackWhenNotRequested);
        var address = remote is null ? null : Normalise(remote);
        string? sha256 = null;
        if (certificate is not null)
            sha256 = Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256));
        var matched = new List<MatchedSender>();
        foreach (var entry in _entries)
        {
            if (entry.Networks.Count > 0 && (address is null || !entry.Networks.Any(n => n.Contains(address))))
                continue;
            if (entry.Thumbprints.Count > 0 && (sha256 is null || !entry.Thumbprints.Contains(sha256)))
                continue;
            matched.Add(entry.Sender);
        }
        return SenderAuthority.Of(matched, _ackWhenNotRequested);
    }

    /// <summary>An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address it carries.</summary>
    public static IPAddress Normalise(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>An address (a one-address network) or a CIDR block; an IPv4-mapped IPv6 form is read as IPv4.</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        network = default;
        var value = text.Trim();
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var addressPart = slash < 0 ? value : value[..slash];
        if (!IPAddress.TryParse(addressPart, out var address))
            return false;
        int prefix;
        if (slash < 0)
            prefix = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
        else if (!int.TryParse(value[(slash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out prefix))
            return false;
        if (address.IsIPv4MappedToIPv6)
        {
            if (prefix < 96)
                return false;
            address = address.MapToIPv4();
            prefix -= 96;
        }
        var max = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
        if (prefix < 0 || prefix > max)
            return false;
        // The base address with its host bits cleared: `10.1.2.3/8` is read as 10.0.0.0/8, as routers do.
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        network = new IPNetwork(new IPAddress(bytes), prefix);
        return true;
    }

    private sealed record Entry(MatchedSender Sender, IReadOnlyList<IPNetwork> Networks, IReadOnlySet<string> Thumbprints);
}
