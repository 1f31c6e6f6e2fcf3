using Dmp.Mapping;
using Dmp.Mapping.Generic;
using Dmp.Mapping.Hl7v2;
using Dmp.Model;

namespace Dmp.Ingest.Worker.Operator;

/// <summary>
/// The patient identifiers a message named, for the operators' search (<c>message_patient</c>): from its mapped
/// patients when mapping succeeded, else read from its PID segments directly (a message that failed later than PID-3).
/// </summary>
public static class NamedPatients
{
    /// <summary>The INS and local identifiers of every patient of the mapped messages.</summary>
    public static IReadOnlyList<Identifier> Of(IEnumerable<ModelMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return [.. messages.SelectMany(m => m.Message.Patients).SelectMany(Identifiers)];
    }

    /// <summary>
    /// The identifiers in the PID-3 of each message of <paramref name="raw"/> (a batch is split first); null when none
    /// could be read (not HL7 v2, no PID, unparseable). Never throws.
    /// </summary>
    public static IReadOnlyList<Identifier>? Read(ReadOnlyMemory<byte> raw)
    {
        try
        {
            if (InboundMapper.LooksLikeXml(raw.Span))
                return null;
            var parsed = Hl7Message.Parse(raw);
            IEnumerable<ReadOnlyMemory<byte>> parts = parsed.Success ? [] : Hl7Batch.Split(raw).Messages;
            var found = new List<Identifier>();
            foreach (var message in parsed.Success ? [parsed.Message] : parts.Select(p => Hl7Message.Parse(p).Message).OfType<Hl7Message>())
                foreach (var pid in message.SegmentsNamed("PID"))
                    found.AddRange(Identifiers(PatientReader.Read(pid)));
            return found.Count == 0 ? null : found;
        }
#pragma warning disable CA1031 // a best-effort index for the search: a message it cannot read is only not searchable by patient
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    private static IEnumerable<Identifier> Identifiers(Patient patient) =>
        patient.Ins is { } ins ? patient.LocalIdentifiers.Prepend(ins) : patient.LocalIdentifiers;
}
