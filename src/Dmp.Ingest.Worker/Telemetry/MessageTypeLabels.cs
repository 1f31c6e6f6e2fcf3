using System.Collections.Concurrent;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Mapping.Rules;

namespace Dmp.Ingest.Worker.Telemetry;

/// <summary>
/// The `type` label of `dmp_messages_received_total`: the stored MSH-9 (`ADT^A01`) when a loaded rule is written for it,
/// else `other`. A rule for a message code with no trigger list (`adt.yaml`: any ADT) would let a sender invent labels,
/// so a trigger must look like one (three letters or digits) and at most <see cref="MaxLabels"/> distinct types are ever
/// named. CDA files are `CDA`. Answers are cached per rule set (a reload starts afresh).
/// </summary>
public sealed class MessageTypeLabels(RuleSetReloader rules)
{
    public const string Other = "other";
    public const string Cda = "CDA";
    public const int MaxLabels = 200;

    private readonly ConcurrentDictionary<string, byte> _named = new(StringComparer.Ordinal);
    private Cache _cache = new(RuleSet.Empty);

    /// <summary>The label of a stored message type (`ADT^A01`, `ACK`, null when MSH-9 did not read).</summary>
    public string Label(string? messageType)
    {
        if (string.IsNullOrEmpty(messageType))
            return Other;
        var current = rules.Current;
        var cache = Volatile.Read(ref _cache);
        if (!ReferenceEquals(cache.Rules, current))
        {
            cache = new Cache(current);
            Volatile.Write(ref _cache, cache);
        }
        if (cache.Labels.TryGetValue(messageType, out var label))
            return label;
        label = Decide(current, messageType);
        // Bounded too: only answers for types the rules know are kept beyond the first few hundred.
        if (cache.Labels.Count < 4 * MaxLabels || !ReferenceEquals(label, Other))
            cache.Labels.TryAdd(messageType, label);
        return label;
    }

    private string Decide(RuleSet rules, string messageType)
    {
        var caret = messageType.IndexOf('^', StringComparison.Ordinal);
        var code = caret < 0 ? messageType : messageType[..caret];
        var trigger = caret < 0 ? null : messageType[(caret + 1)..];
        if (code.Length is 0 or > 3 || (trigger is not null && !LooksLikeTrigger(trigger)) || !rules.Knows(code, trigger))
            return Other;
        if (_named.ContainsKey(messageType))
            return messageType;
        if (_named.Count >= MaxLabels)
            return Other;
        _named.TryAdd(messageType, 0);
        return messageType;
    }

    private static bool LooksLikeTrigger(string trigger) => trigger.Length == 3 && trigger.All(char.IsAsciiLetterOrDigit);

    private sealed class Cache(RuleSet rules)
    {
        public RuleSet Rules { get; } = rules;
        public ConcurrentDictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
    }
}
