using Dmp.Mapping.Fhir;
using Dmp.Mapping.Rules;
using Dmp.Mapping.Hl7v2;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping;

/// <summary>
/// Maps every message of an HL7 v2 input (one message, a batch, or messages one after another) into
/// one FHIR `collection` Bundle: a MessageHeader per message, a Patient per PID, and an
/// OperationOutcome saying what no rule covered yet.
/// </summary>
public static class Hl7v2Mapper
{
    public static MapResult Map(ReadOnlyMemory<byte> input, string channel) => Map(input, channel, RuleSet.Empty);

    /// <summary>Maps with a rule set: each message by the rule that matches it, or generically with a note.</summary>
    public static MapResult Map(ReadOnlyMemory<byte> input, string channel, RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var bundle = new F.Bundle { Type = F.Bundle.BundleType.Collection };
        var outcome = new F.OperationOutcome();
        if (EachMessage(input, message => MapMessage(message, channel, rules, bundle, outcome)) is { } error)
            return MapResult.Failed(error);
        if (outcome.Issue.Count > 0)
        {
            outcome.Id = DeterministicId.From("OperationOutcome", bundle.Entry.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), string.Join('|', outcome.Issue.Select(i => i.Diagnostics)));
            AddEntry(bundle, outcome);
        }
        return MapResult.Mapped(bundle);
    }

    /// <summary>
    /// Maps every message of an HL7 v2 input into the model only (no FHIR): what the processing worker applies to the
    /// dossier. Each message keeps its event time (EVN-2, as an instant; else null).
    /// </summary>
    public static ModelMapResult MapModel(ReadOnlyMemory<byte> input, string channel, RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var messages = new List<ModelMessage>();
        var error = EachMessage(input, message =>
        {
            var mapped = MapOne(message, channel, rules, out var messageError);
            if (messageError is null)
                messages.Add(new ModelMessage(mapped!, EventTime(message, mapped!.Provenance?.RecordedAt), null));
            return messageError;
        });
        return error is null ? new ModelMapResult(messages, null) : ModelMapResult.Failed(error);
    }

    /// <summary>
    /// Parses each message of the input (one, a batch, or several in a row) and hands it to <paramref name="map"/>, in
    /// order; the first error ends it, its reason naming the message when there are several.
    /// </summary>
    private static MapError? EachMessage(ReadOnlyMemory<byte> input, Func<Hl7Message, MapError?> map)
    {
        var parse = MappingTracing.Start("parse");
        var batch = Hl7Batch.Split(input);
        if (batch.Error is { } batchError)
        {
            parse?.Dispose();
            return ToMapError(batchError);
        }
        for (var i = 0; i < batch.Messages.Count; i++)
        {
            parse ??= MappingTracing.Start("parse");
            var parsed = Hl7Message.Parse(batch.Messages[i]);
            parse?.Dispose();
            parse = null;
            if (parsed.Message is not { } message)
                return ToMapError(parsed.Error ?? new Hl7Error(0, null, 0, "not an HL7 v2 message"), batch.Messages.Count > 1 ? i + 1 : 0);
            using (MappingTracing.Start("map"))
            {
                if (map(message) is { } error)
                    return error with { Reason = batch.Messages.Count > 1 ? $"message {i + 1}: {error.Reason}" : error.Reason };
            }
        }
        parse?.Dispose();
        return null;
    }

    private static MapError? MapMessage(Hl7Message message, string channel, RuleSet rules, F.Bundle bundle, F.OperationOutcome outcome)
    {
        var mapped = MapOne(message, channel, rules, out var error);
        if (error is not null)
            return error;
        BundleWriter.AppendMessage(bundle, outcome, mapped!, message.Raw.Span);
        return null;
    }

    private static MappedMessage? MapOne(Hl7Message message, string channel, RuleSet rules, out MapError? error)
    {
        error = null;
        if (string.IsNullOrEmpty(message.MessageType))
            error = new MapError("MSH-9 (message type) is empty", 1, "MSH", 9);
        else if (message.MessageType == "ADT" && !message.TryGetSegment("PID", out _))
            error = new MapError($"{message.MessageType}^{message.TriggerEvent} message has no PID segment", 1, "MSH", 9);
        if (error is not null)
            return null;
        var mapped = rules.Map(message, channel);
        error = mapped.Error;
        return mapped.Message;
    }

    /// <summary>
    /// EVN-2 (recorded date/time) as an instant: its own offset, else the offset MSH-7 resolved to (the sender's zone), else UTC;
    /// null when the message has no EVN-2 with a time.
    /// </summary>
    private static DateTimeOffset? EventTime(Hl7Message message, DateTimeOffset? sentAt)
    {
        if (!message.TryGetSegment("EVN", out var evn) || !Hl7DateTime.TryParse(evn.GetField(2), out var at) || at.Precision <= Hl7Precision.Day)
            return null;
        var local = DateTime.SpecifyKind(at.Local, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, at.Offset ?? sentAt?.Offset ?? TimeSpan.Zero);
    }

    private static void AddEntry(F.Bundle bundle, F.Resource resource) => bundle.Entry.Add(Entry(resource));

    private static F.Bundle.EntryComponent Entry(F.Resource resource) =>
        new() { FullUrl = "urn:uuid:" + resource.Id, Resource = resource };

    private static MapError ToMapError(Hl7Error error, int messageNumber = 0) =>
        new(messageNumber > 0 ? $"message {messageNumber}: {error.Reason}" : error.Reason, error.SegmentIndex, error.SegmentId, error.Field);
}

/// <summary>One message of an input as the model reads it, with its event time and (CDA) its nonXMLBody.</summary>
/// <param name="EventAt">EVN-2 as an instant when the message has one (HL7 v2); null otherwise.</param>
public sealed record ModelMessage(MappedMessage Message, DateTimeOffset? EventAt, CdaNonXmlBody? NonXmlBody);

/// <summary>The outcome of mapping one input to the model: its messages, or an error with its position.</summary>
public sealed record ModelMapResult(IReadOnlyList<ModelMessage> Messages, MapError? Error)
{
    public static ModelMapResult Failed(MapError error) => new([], error);
}

/// <summary>The outcome of mapping one input: a Bundle, or an error with its position.</summary>
public sealed record MapResult(F.Bundle? Bundle, MapError? Error)
{
    public static MapResult Mapped(F.Bundle bundle) => new(bundle, null);
    public static MapResult Failed(MapError error) => new(null, error);
}
