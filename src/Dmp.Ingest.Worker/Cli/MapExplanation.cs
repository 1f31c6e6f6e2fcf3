using Dmp.Mapping;
using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Mapping.Rules;
using Dmp.Model;
using Dmp.Model.Apply;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>
/// What `map --explain` warns about beyond the rule used: identifiers whose assigning authority no table
/// knows (they stay plain identifiers — an INS among them is not recognised), and each field of the
/// message that decides its outcome in the gateway: ignored, held, refused. It reads the message alone:
/// a choice recorded earlier in the dossier (an opposition from another message) is not known here.
/// </summary>
public static class MapExplanation
{
    private const string AuthoritiesTable = "mappings/tables/assigning-authorities.yaml";

    /// <summary>
    /// `map --explain` for one input, as data (the CLI prints it, `POST /api/rules/try` and the console's rules page show
    /// it): per HL7 v2 message of a batch, the rule chosen, the fields it read, what no rule read and the outcome lines;
    /// for a CDA document, its outcome lines. A message of a batch that does not parse is left out (its number is kept).
    /// </summary>
    public static IReadOnlyList<ExplainedMessage> Explain(ReadOnlyMemory<byte> bytes, string channel, RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var model = InboundMapper.MapModel(bytes, channel, rules);
        if (InboundMapper.LooksLikeXml(bytes.Span))
            return [.. model.Messages.Select((m, i) => new ExplainedMessage(i + 1, null, null, [], [], [.. Lines(m.Message)]))];
        var result = new List<ExplainedMessage>();
        var batch = Hl7Batch.Split(bytes);
        for (var i = 0; i < batch.Messages.Count; i++)
        {
            if (Hl7Message.Parse(batch.Messages[i]).Message is not { } message)
                continue;
            var notes = model.Messages.Count == batch.Messages.Count ? [.. Lines(model.Messages[i].Message)] : new List<string>();
            result.Add(new ExplainedMessage(i + 1, $"{message.MessageType}^{message.TriggerEvent}", rules.Select(message), rules.Read(message), rules.Unused(message), notes));
        }
        return result;
    }

    public static IEnumerable<string> Lines(MappedMessage message)
    {
        if (message.Info.MessageType is { } type && MessageTypes.NoDossierMeaning.Contains(type))
            yield return $"MSH-9 {type}: no meaning for the dossier: the gateway marks it ignored";
        foreach (var patient in message.Patients)
        {
            foreach (var line in Identifiers(patient))
                yield return line;
        }
        foreach (var choices in message.Choices)
        {
            if (choices.OpposesFeeding == Choice.Yes)
                yield return $"ZFA-9 IO: the patient opposes feeding the DMP from {message.Info.SendingFacility ?? "this facility"}: its documents are refused (refused-by-patient)";
            if (choices.Status == DossierStatus.Closed)
                yield return "ZFA-1 FERME: the patient's DMP is closed";
        }
        foreach (var document in message.Documents)
        {
            var id = document.UniqueId?.Value ?? "(no id)";
            if (document.ValidatedByAuthor == false)
                yield return $"document {id}: not validated by its author (TXA-17, or the CDA's legal authenticator): held until its validated version arrives";
            if (document.Routing?.ToDmp == false)
                yield return $"document {id}: DESTDMP = N (MetaDMPMSS flags): not for the DMP, nothing enters the dossier";
        }
        if (message.Documents.Count > 0 && message.Patients.Count > 0 && !message.Patients.Any(p => p.IsQualified))
        {
            var patient = message.Patients[0];
            var why = patient.Ins is null ? "no INS" : $"PID-32 is '{patient.IdentityStatus ?? ""}', not VALI or QUAL";
            yield return $"patient identity not qualified ({why}): its documents are held until an ADT qualifies it, unless the dossier already holds a qualified identity";
        }
    }

    /// <summary>An identifier whose system is neither an OID nor a URI: its authority was found in no table.</summary>
    private static IEnumerable<string> Identifiers(Patient patient)
    {
        IEnumerable<Identifier> all = patient.Ins is { } ins ? [ins, .. patient.LocalIdentifiers] : patient.LocalIdentifiers;
        foreach (var identifier in all)
        {
            var system = identifier.System;
            if (PatientReader.IsOid(system) || system.Contains(':', StringComparison.Ordinal))
                continue;
            var authority = identifier.AssigningAuthority ?? system;
            var insLike = identifier.Type is "INS" or "NH" or "INS-NIR" or "INS-C" || (identifier.Value.Length == 15 && identifier.Value.All(char.IsAsciiDigit));
            yield return $"PID-3 identifier of type {identifier.Type ?? "(none)"}: assigning authority '{authority}' is in no table ({AuthoritiesTable}) and CX-4.2 gives no OID: it stays a local identifier{(insLike ? ", not an INS" : "")}; add '{authority}' to the table or send its OID in CX-4.2";
        }
    }
}

/// <summary>
/// One message as `map --explain` explains it: its number in the input, its MSH-9 type and event (null for a CDA
/// document), the rule chosen (null: none), the non-empty fields that rule read, what no rule read, and the fields that
/// decide its outcome in the gateway.
/// </summary>
public sealed record ExplainedMessage(int Number, string? Type, RuleInfo? Rule, IReadOnlyList<string> Read, IReadOnlyList<string> Unused, IReadOnlyList<string> Notes);
