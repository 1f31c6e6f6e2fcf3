using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dmp.Ingest.Worker.Mllp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>Matching a connection to `Dmp:Mllp:Senders` (addresses, CIDR, IPv6, certificates) and validating the list.</summary>
public sealed class SenderDirectoryTests
{
    private static SenderDirectory Directory(params MllpSenderOptions[] senders) =>
        new(Options.Create(new MllpOptions { Senders = [.. senders] }));

    private static MllpSenderOptions Sender(string name, string[] addresses, string[]? facilities = null, string[]? thumbprints = null) =>
        new() { Name = name, Addresses = [.. addresses], Facilities = [.. facilities ?? ["*"]], Thumbprints = [.. thumbprints ?? []] };

    private static string? Matched(SenderDirectory directory, string address, X509Certificate2? certificate = null, string facility = "LAB") =>
        directory.Match(IPAddress.Parse(address), certificate).Authorise(facility).Sender?.Name;

    [Theory]
    [InlineData("10.1.2.3", "exact")]
    [InlineData("::ffff:10.1.2.3", "exact")] // IPv4-mapped IPv6 compares as IPv4
    [InlineData("10.1.2.4", "block")]
    [InlineData("10.1.255.255", "block")]
    [InlineData("::ffff:10.1.9.9", "block")]
    [InlineData("2001:db8:0:1::42", "v6")]
    [InlineData("2001:db8:0:1:ffff::1", "v6")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("10.2.0.1", null)]
    [InlineData("2001:db8:0:2::1", null)]
    [InlineData("192.168.1.1", null)]
    public void An_address_matches_the_first_sender_whose_address_or_block_holds_it(string remote, string? expected)
    {
        var directory = Directory(
            Sender("exact", ["10.1.2.3"]),
            Sender("block", ["10.1.0.0/16"]),
            Sender("v6", ["2001:db8:0:1::/64"]),
            Sender("link-local", ["fe80::/10"]));

        Assert.Equal(expected, Matched(directory, remote));
        Assert.Equal(expected is null, directory.Match(IPAddress.Parse(remote), null).Unmatched);
    }

    [Fact]
    public void A_block_written_as_IPv4_mapped_IPv6_is_the_IPv4_block_and_host_bits_are_ignored()
    {
        Assert.True(SenderDirectory.TryParseNetwork("::ffff:192.168.0.0/120", out var mapped));
        Assert.Equal("192.168.0.0/24", mapped.ToString());
        Assert.True(SenderDirectory.TryParseNetwork("10.1.2.3/8", out var loose));
        Assert.Equal("10.0.0.0/8", loose.ToString());
        Assert.False(SenderDirectory.TryParseNetwork("10.0.0.0/33", out _));
        Assert.False(SenderDirectory.TryParseNetwork("lab.example", out _));
        Assert.False(SenderDirectory.TryParseNetwork("::ffff:10.0.0.0/64", out _));
    }

    [Fact]
    public void A_sender_with_addresses_and_thumbprints_needs_both_and_one_with_a_thumbprint_alone_needs_only_the_certificate()
    {
        using var pinned = SelfSigned("CN=lab");
        using var stranger = SelfSigned("CN=stranger");
        var thumbprint = Convert.ToHexString(pinned.GetCertHash(HashAlgorithmName.SHA256));
        var directory = Directory(
            Sender("both", ["10.0.0.1"], ["LAB"], [thumbprint]),
            Sender("cert-only", [], ["CERT"], [string.Join(':', thumbprint.Chunk(2).Select(c => new string(c))).ToLowerInvariant()]));

        Assert.Equal("both", Matched(directory, "10.0.0.1", pinned));
        Assert.Null(Matched(directory, "10.0.0.1", null));
        Assert.Null(Matched(directory, "10.0.0.1", stranger));
        Assert.Equal("cert-only", Matched(directory, "192.0.2.7", pinned, "CERT"));
        Assert.True(directory.Match(IPAddress.Parse("192.0.2.7"), stranger).Unmatched);
    }

    [Fact]
    public void A_facility_is_allowed_by_any_matched_sender_and_refused_naming_the_facility_and_the_sender()
    {
        var directory = Directory(Sender("lab-a", ["127.0.0.1"], ["LAB", "LAB-2"]), Sender("any", ["10.0.0.0/8"], ["*"]));

        var lab = directory.Match(IPAddress.Loopback, null);
        Assert.Equal("lab-a", lab.Authorise("LAB-2").Sender?.Name);
        var (sender, refusal) = lab.Authorise("EVIL-ORG");
        Assert.Equal("lab-a", sender?.Name);
        Assert.Equal("facility EVIL-ORG is not allowed for sender lab-a", refusal);
        Assert.Equal("an empty facility (MSH-4.1) is not allowed for sender lab-a", lab.Authorise(null).Refusal);
        Assert.Null(directory.Match(IPAddress.Parse("10.9.9.9"), null).Authorise("EVIL-ORG").Refusal);
        Assert.Equal("no configured sender matches this connection (Dmp:Mllp:Senders)",
            directory.Match(IPAddress.Parse("192.0.2.1"), null).Authorise("LAB").Refusal);
    }

    [Fact]
    public void Without_senders_every_connection_may_send_for_any_facility()
    {
        var authority = Directory().Match(IPAddress.Parse("192.0.2.1"), null);

        Assert.False(authority.Unmatched);
        var (sender, refusal) = authority.Authorise("ANY");
        Assert.Null(sender);
        Assert.Null(refusal);
    }

    [Fact]
    public void A_sender_AckWhenNotRequested_overrides_the_listener_setting()
    {
        var directory = new SenderDirectory(Options.Create(new MllpOptions
        {
            AckWhenNotRequested = true,
            Senders = [Sender("quiet", ["10.0.0.1"]), new MllpSenderOptions { Name = "loud", Addresses = ["10.0.0.2"], Facilities = ["*"], AckWhenNotRequested = false }],
        }));

        Assert.True(directory.Match(IPAddress.Parse("10.0.0.1"), null).Authorise("X").Sender!.AckWhenNotRequested);
        Assert.False(directory.Match(IPAddress.Parse("10.0.0.2"), null).Authorise("X").Sender!.AckWhenNotRequested);
        Assert.True(directory.Match(IPAddress.Parse("10.0.0.3"), null).AckWhenNotRequested);
    }

    [Theory]
    [InlineData("0.0.0.0", false, true)]
    [InlineData("::", false, true)]
    [InlineData("192.0.2.10", false, true)]
    [InlineData("0.0.0.0", true, false)]
    [InlineData("127.0.0.1", false, false)]
    [InlineData("::1", false, false)]
    [InlineData("localhost", false, false)]
    public void Off_loopback_without_senders_is_refused_unless_AllowAnySender(string host, bool allowAny, bool refused)
    {
        var result = new MllpOptionsValidator().Validate(null, new MllpOptions { Host = host, AllowAnySender = allowAny });

        Assert.Equal(refused, result.Failed);
        if (refused)
        {
            var line = Assert.Single(result.Failures!);
            Assert.Contains("Dmp:Mllp:Senders", line, StringComparison.Ordinal);
            Assert.Contains("Dmp:Mllp:AllowAnySender=true", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Each_wrong_sender_setting_is_one_line_naming_its_key()
    {
        var result = new MllpOptionsValidator().Validate(null, new MllpOptions
        {
            Host = "0.0.0.0",
            Senders =
            [
                new MllpSenderOptions { Name = "a", Addresses = ["10.0.0.0/40"], Facilities = ["LAB"] },
                new MllpSenderOptions { Name = "a", Thumbprints = ["ABCD"], Facilities = [] },
                new MllpSenderOptions { Name = "", Facilities = ["*"] },
            ],
        });

        var failures = result.Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("Dmp:Mllp:Senders:0:Addresses has '10.0.0.0/40'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Dmp:Mllp:Senders:1:Name 'a' is used by another sender", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Dmp:Mllp:Senders:1:Thumbprints has 'ABCD'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Dmp:Mllp:Senders:1:Thumbprints needs mutual TLS", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Dmp:Mllp:Senders:1:Facilities is empty", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Dmp:Mllp:Senders:2:Name is not set", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Dmp:Mllp:Senders:2: give Addresses", StringComparison.Ordinal));
        Assert.DoesNotContain(failures, f => f.Contains("AllowAnySender", StringComparison.Ordinal));
        Assert.Equal(7, failures.Count);
    }

    [Fact]
    public void A_sender_value_that_does_not_convert_is_one_line_naming_its_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Senders:0:Name"] = "lab",
            ["Dmp:Mllp:Senders:0:AckWhenNotRequested"] = "maybe",
            ["Dmp:Mllp:MaxConnectionsPerAddress"] = "many",
        }).Build();

        var problems = Dmp.Ingest.Worker.Hosting.SettingsCheck.Problems(configuration);

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("Dmp:Mllp:Senders:0:AckWhenNotRequested is 'maybe': use true or false", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Dmp:Mllp:MaxConnectionsPerAddress is 'many': use a whole number", StringComparison.Ordinal));
    }

    [Fact]
    public void The_limiter_counts_each_address_apart_and_IPv4_mapped_addresses_as_IPv4()
    {
        var limiter = new MllpConnectionLimiter(Options.Create(new MllpOptions { MaxConnectionsPerAddress = 2, MaxConnections = 10 }));
        var a = IPAddress.Parse("10.0.0.1");

        Assert.True(limiter.TryEnter(a, out _));
        Assert.True(limiter.TryEnter(IPAddress.Parse("::ffff:10.0.0.1"), out _));
        Assert.False(limiter.TryEnter(a, out var perAddress));
        Assert.True(perAddress);
        Assert.True(limiter.TryEnter(IPAddress.Parse("10.0.0.2"), out _));
        limiter.Exit(a);
        Assert.True(limiter.TryEnter(a, out _));
        Assert.Equal((2, 3), (limiter.OpenFrom(a), limiter.Open));
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
