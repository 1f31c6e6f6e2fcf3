using System.Text.Json.Nodes;
using Dmp.Ingest.Worker.Cli;
using Dmp.Mapping;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Rules;

namespace Dmp.Ingest.Worker.RuleWorkbench;

/// <summary>One input mapped with one rule set: the Bundle (as JSON) or the error, and `map --explain`'s explanation.</summary>
public sealed record TrialResult(JsonNode? Bundle, MapError? Error, IReadOnlyList<ExplainedMessage> Explanation)
{
    /// <summary>The error as one line with its position (`message: segment 3 (PID) field 5: …`).</summary>
    public string? ErrorText => Error?.Format("message");
}

/// <summary>
/// Maps an input as the gateway would — `map --explain`'s mapping and explanation, shared, with whichever rule set the
/// caller gives (the loaded one, or the files on disk) — for `POST /api/rules/try`, the preview and the console.
/// </summary>
public static class RuleTrial
{
    /// <summary>The channel a trial maps on when no stored message gives one (rules naming a sender do not match it).</summary>
    public const string TrialChannel = "try";

    public static TrialResult Run(ReadOnlyMemory<byte> input, string channel, RuleSet rules, bool explain = true)
    {
        ArgumentNullException.ThrowIfNull(rules);
        MapResult result;
        try
        {
            result = InboundMapper.Map(input, channel, rules);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or System.Xml.XmlException)
        {
            // The worker's mapping of garbage is an error value; should a reader still throw, it is this input's error.
            return new TrialResult(null, new MapError("the input could not be read: " + e.GetType().Name), []);
        }

        if (result.Error is { } error)
            return new TrialResult(null, error, []);
        var bundle = JsonNode.Parse(FhirJson.Serialize(result.Bundle!, pretty: false));
        if (!explain)
            return new TrialResult(bundle, null, []);
        IReadOnlyList<ExplainedMessage> explanation;
        try
        {
            explanation = MapExplanation.Explain(input, channel, rules);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or System.Xml.XmlException)
        {
            explanation = [new ExplainedMessage(1, null, null, [], [], ["the explanation could not be built: " + e.GetType().Name])];
        }

        return new TrialResult(bundle, null, explanation);
    }

    /// <summary>The channel the worker maps a stored message on: the part of its sender before `/`.</summary>
    public static string ChannelOf(string? sender) => string.IsNullOrEmpty(sender) ? TrialChannel : sender.Split('/', 2)[0];

    /// <summary>The explanation as the API answers it.</summary>
    public static object ToJson(IReadOnlyList<ExplainedMessage> explanation) =>
        explanation.Select(m => new
        {
            number = m.Number,
            type = m.Type,
            rule = m.Rule is { } r ? new { id = r.Id, file = r.File } : null,
            read = m.Read,
            unread = m.Unused,
            notes = m.Notes,
        }).ToList();
}
