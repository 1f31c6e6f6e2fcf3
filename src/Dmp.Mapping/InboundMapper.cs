namespace Dmp.Mapping;

/// <summary>Maps any input by what it contains, not by its name: XML is CDA R2, anything else HL7 v2.</summary>
public static class InboundMapper
{
    /// <summary>Maps with no rules: HL7 v2 gets the generic reading (MessageHeader, Patient from PID) and a note.</summary>
    public static MapResult Map(ReadOnlyMemory<byte> input, string channel) => Map(input, channel, Rules.RuleSet.Empty);

    /// <summary>Maps with the given rules: HL7 v2 by its message rules, CDA R2 by its document rules (`mappings/cda/`).</summary>
    public static MapResult Map(ReadOnlyMemory<byte> input, string channel, Rules.RuleSet rules) =>
        LooksLikeXml(input.Span) ? CdaMapper.Map(input, channel, rules) : Hl7v2Mapper.Map(input, channel, rules);

    /// <summary>
    /// Maps to the model only (no FHIR Bundle): one <see cref="ModelMessage"/> per HL7 v2 message of the input, or the
    /// CDA document's (its record carries the document's bytes as <see cref="Dmp.Model.Document.Content"/>).
    /// </summary>
    public static ModelMapResult MapModel(ReadOnlyMemory<byte> input, string channel, Rules.RuleSet rules)
    {
        if (!LooksLikeXml(input.Span))
            return Hl7v2Mapper.MapModel(input, channel, rules);
        var (mapped, error) = CdaMapper.Read(input, channel, rules);
        return error is not null ? ModelMapResult.Failed(error) : new ModelMapResult([new ModelMessage(mapped!.Message, null, mapped.NonXmlBody)], null);
    }

    public static bool LooksLikeXml(ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (bytes.StartsWith(bom))
            bytes = bytes[3..];
        foreach (var b in bytes)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                continue;
            return b == (byte)'<';
        }
        return false;
    }
}
