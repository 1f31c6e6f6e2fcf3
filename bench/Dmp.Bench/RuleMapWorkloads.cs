using Dmp.Mapping.Hl7v2;
using Dmp.Mapping.Rules;
using Dmp.Model;

namespace Dmp.Bench;

/// <summary>
/// One parse + map as the processing worker does it: <see cref="Hl7Message.Parse"/>, then <see cref="RuleSet.Map"/>
/// with rules compiled once, to the DMP model (no FHIR). Returns a count of what was produced, for a sink.
/// </summary>
public static class RuleMapWorkloads
{
    public const string Channel = "bench";

    public static int ParseAndMap(RuleSet rules, byte[] bytes) => Count(ParseAndMapMessage(rules, bytes));

    public static MappedMessage ParseAndMapMessage(RuleSet rules, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var parsed = Hl7Message.Parse(bytes);
        if (!parsed.Success)
            throw new InvalidOperationException("benchmark message does not parse: " + parsed.Error);
        var mapped = rules.Map(parsed.Message, Channel);
        return mapped.Message ?? throw new InvalidOperationException("benchmark message does not map: " + mapped.Error?.Reason);
    }

    /// <summary>Checks once, before measuring, that the rules actually map the message (not only the generic reading).</summary>
    public static void RequireRule(RuleSet rules, byte[] bytes, string name)
    {
        var message = ParseAndMapMessage(rules, bytes);
        if (message.Rule is null)
            throw new InvalidOperationException($"no shipped rule maps {name}: the benchmark would only measure the generic reading");
    }

    private static int Count(MappedMessage m) =>
        m.Patients.Count + m.Choices.Count + m.Encounters.Count + m.Documents.Count + m.Reports.Count + m.Observations.Count
        + m.Allergies.Count + m.Problems.Count + m.Medications.Count + m.Immunizations.Count + m.Procedures.Count + m.Merges.Count
        + m.Notes.Count;
}
