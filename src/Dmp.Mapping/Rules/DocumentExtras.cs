using Dmp.Mapping.Hl7v2;

namespace Dmp.Mapping.Rules;

/// <summary>
/// What a document-bearing message (CI-SIS "CDA in HL7 v2", its LPS/MSSanté variant, or any ORU/MDM carrying a CDA)
/// says that the model has no place for, for `map --explain`: the PRT recipients and reply-to addresses, the e-mail the
/// LPS variant carries in an OBX of its own, the MetaDMPMSS rows no document field takes. Lines name segments and
/// codes only, never a value (names, addresses and the mail are personal data).
/// </summary>
internal static class DocumentExtras
{
    /// <summary>MetaDMPMSS rows the document record reads into no field (see EmbeddedDocuments).</summary>
    private static readonly HashSet<string> UnkeptFlags = ["CORPSMAIL_PS", "CORPSMAIL_PATIENT", "COMP_LOT"];

    public static IEnumerable<string> Lines(Hl7Message message, string? ruleId, bool byContent, CodeTable? flags)
    {
        if (byContent)
        {
            var profiles = message.ProfileIds.Count == 0 ? "(none)" : string.Join(", ", message.ProfileIds);
            yield return $"rule {ruleId} chosen by content: an OBX carries a CDA R2; MSH-21 {profiles} names no profile the rules know (a CI-SIS profile would only refine flags and lifecycle)";
        }
        for (var i = 0; i < message.SegmentCount; i++)
        {
            var segment = message.GetSegment(i);
            if (segment.Id == "PRT")
            {
                var role = segment.GetField(4).GetComponent(1).ValueOrNull;
                switch (role)
                {
                    case "RCT":
                        yield return $"segment {i + 1} PRT RCT: a recipient of the document (PRT-5 person, PRT-8 organisation, PRT-15 address): the model has no place for recipients, not kept";
                        break;
                    case "REPLY":
                        yield return $"segment {i + 1} PRT REPLY: the address replies go to: the model has no place for it, not kept";
                        break;
                }
            }
            else if (segment.Id == "OBX" && string.Equals(segment.GetField(2).GetComponent(1).ValueOrNull, "ED", StringComparison.Ordinal))
            {
                var code = segment.GetField(3).GetComponent(1).ValueOrNull;
                if (code is not null && flags is not null && flags.TryLookup(code, out var name))
                {
                    if (UnkeptFlags.Contains(name))
                        yield return $"segment {i + 1} OBX {name} (MetaDMPMSS): read as a flag, but no document field keeps it";
                    continue;
                }
                var subtype = segment.GetField(5).GetComponent(3).ValueOrNull;
                var system = segment.GetField(3).GetComponent(3).ValueOrNull;
                if (subtype is null && system is null && !CarriedCda.IsCda(segment))
                    yield return $"segment {i + 1} OBX ED with no content subtype (OBX-5.3) nor code system (OBX-3.3): the e-mail the document came in (LPS/MSSanté variant), not a document: not kept";
            }
        }
    }
}
