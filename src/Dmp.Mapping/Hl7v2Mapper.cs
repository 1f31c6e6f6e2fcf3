using Dmp.Mapping.Fhir;
using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping;

/// <summary>
/// Maps every message of an HL7 v2 input (one message, a batch, or messages one after another) into
/// one FHIR `collection` Bundle: a MessageHeader per message, a Patient per PID, and an
/// OperationOutcome saying what no rule covered yet.
/// </summary>
public static class Hl7v2Mapper
{
    /// <summary>Message types whose business meaning needs a patient.</summary>
    private static readonly HashSet<string> PatientTypes = new(StringComparer.Ordinal) { "ADT", "ORU", "MDM", "ORM", "OML", "RDE", "RDS", "VXU", "SIU", "BAR", "DFT", "PPR", "OUL" };

    public static MapResult Map(ReadOnlyMemory<byte> input, string channel)
    {
        var batch = Hl7Batch.Split(input);
        if (batch.Error is { } batchError)
            return MapResult.Failed(ToMapError(batchError));

        var bundle = new F.Bundle { Type = F.Bundle.BundleType.Collection };
        var outcome = new F.OperationOutcome();
        for (var i = 0; i < batch.Messages.Count; i++)
        {
            var parsed = Hl7Message.Parse(batch.Messages[i]);
            if (parsed.Message is not { } message)
                return MapResult.Failed(ToMapError(parsed.Error ?? new Hl7Error(0, null, 0, "not an HL7 v2 message"), batch.Messages.Count > 1 ? i + 1 : 0));
            var error = MapMessage(message, channel, bundle, outcome);
            if (error is not null)
                return MapResult.Failed(error with { Reason = batch.Messages.Count > 1 ? $"message {i + 1}: {error.Reason}" : error.Reason });
        }
        if (outcome.Issue.Count > 0)
        {
            outcome.Id = DeterministicId.From("OperationOutcome", bundle.Entry.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), string.Join('|', outcome.Issue.Select(i => i.Diagnostics)));
            AddEntry(bundle, outcome);
        }
        return MapResult.Mapped(bundle);
    }

    private static MapError? MapMessage(Hl7Message message, string channel, F.Bundle bundle, F.OperationOutcome outcome)
    {
        if (string.IsNullOrEmpty(message.MessageType))
            return new MapError("MSH-9 (message type) is empty", 1, "MSH", 9);

        var info = HeaderReader.Read(channel, message);
        var focus = new List<F.ResourceReference>();
        var pids = message.SegmentsNamed("PID").ToList();
        if (pids.Count == 0 && PatientTypes.Contains(message.MessageType) && message.MessageType == "ADT")
            return new MapError($"{message.MessageType}^{message.TriggerEvent} message has no PID segment", 1, "MSH", 9);

        foreach (var pid in pids)
        {
            var patient = PatientReader.Read(pid);
            var key = patient.Ins?.Value ?? patient.LocalIdentifiers.FirstOrDefault()?.Value ?? $"{info.ControlId}#{pid.Index}";
            var system = patient.Ins?.System ?? patient.LocalIdentifiers.FirstOrDefault()?.System ?? info.Sender;
            var resource = FhirProjection.ToFhir(patient, DeterministicId.From("Patient", system, key));
            AddEntry(bundle, resource);
            focus.Add(new F.ResourceReference("urn:uuid:" + resource.Id));
        }

        var header = FhirProjection.ToFhir(info, DeterministicId.From("MessageHeader", info.Sender, info.ControlId, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(message.Raw.Span))), focus);
        bundle.Entry.Insert(bundle.Entry.Count - focus.Count, Entry(header));

        outcome.Issue.Add(new F.OperationOutcome.IssueComponent
        {
            Severity = F.OperationOutcome.IssueSeverity.Information,
            Code = F.OperationOutcome.IssueType.NotSupported,
            Diagnostics = $"no mapping rule for {message.MessageType}^{message.TriggerEvent} (v{message.Version}) yet: generic rules applied (MessageHeader{(pids.Count > 0 ? ", Patient from PID" : "")})",
        });
        return null;
    }

    private static void AddEntry(F.Bundle bundle, F.Resource resource) => bundle.Entry.Add(Entry(resource));

    private static F.Bundle.EntryComponent Entry(F.Resource resource) =>
        new() { FullUrl = "urn:uuid:" + resource.Id, Resource = resource };

    private static MapError ToMapError(Hl7Error error, int messageNumber = 0) =>
        new(messageNumber > 0 ? $"message {messageNumber}: {error.Reason}" : error.Reason, error.SegmentIndex, error.SegmentId, error.Field);
}

/// <summary>The outcome of mapping one input: a Bundle, or an error with its position.</summary>
public sealed record MapResult(F.Bundle? Bundle, MapError? Error)
{
    public static MapResult Mapped(F.Bundle bundle) => new(bundle, null);
    public static MapResult Failed(MapError error) => new(null, error);
}
