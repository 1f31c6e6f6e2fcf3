using System.Globalization;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Tests.Telemetry;

/// <summary>The `type` label stays bounded: MSH-9 values the shipped rules know, else `other`, and never more than a few hundred.</summary>
public sealed class MessageTypeLabelTests
{
    private static async Task<MessageTypeLabels> ShippedRulesAsync()
    {
        var rules = new RuleSetReloader(Options.Create(new RulesOptions { Path = Path.Combine(AppContext.BaseDirectory, "mappings"), ReloadSeconds = 0 }),
            NullLogger<RuleSetReloader>.Instance);
        await rules.StartAsync(CancellationToken.None);
        return new MessageTypeLabels(rules);
    }

    [Theory]
    [InlineData("ADT^A01", "ADT^A01")]   // adt.yaml: any ADT trigger
    [InlineData("ADT^A60", "ADT^A60")]
    [InlineData("ORU^R01", "ORU^R01")]   // oru-lab.yaml lists R01
    [InlineData("ORU^R30", "other")]     // … and only R01
    [InlineData("ZZZ^Z99", "other")]     // no rule for the message code
    [InlineData("ACK^A01", "other")]     // acknowledgements are kept, not mapped
    [InlineData("ADT^A01X", "other")]    // not the shape of a trigger event
    [InlineData("ADT^a<b", "other")]
    [InlineData("", "other")]
    [InlineData(null, "other")]
    public async Task A_type_is_named_only_when_a_rule_is_written_for_it(string? messageType, string label)
    {
        var labels = await ShippedRulesAsync();

        Assert.Equal(label, labels.Label(messageType));
    }

    [Fact]
    public async Task A_sender_inventing_triggers_cannot_grow_the_label_set_past_its_bound()
    {
        var labels = await ShippedRulesAsync();

        var seen = Enumerable.Range(0, 1000).Select(i => labels.Label("ADT^" + (char)('A' + i / 100) + (i % 100).ToString("D2", CultureInfo.InvariantCulture)))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal(MessageTypeLabels.MaxLabels + 1, seen.Count);
        Assert.Contains("other", seen);
        Assert.Equal("ADT^A01", labels.Label("ADT^A01"));
    }
}
