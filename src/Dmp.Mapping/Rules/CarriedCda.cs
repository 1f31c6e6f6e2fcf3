using System.Xml;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Mapping.Rules;

/// <summary>
/// Whether an HL7 v2 message carries a CDA R2 document by what its OBX hold, whatever MSH-21 names: an OBX of type ED
/// whose data (Base64 or not) opens with a `ClinicalDocument` element in the `urn:hl7-org:v3` namespace. Only the first
/// element is read (no DTD, no external entity); the document itself is read later by the document record.
/// </summary>
public static class CarriedCda
{
    public const string Namespace = "urn:hl7-org:v3";

    private static readonly XmlReaderSettings Settings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        MaxCharactersFromEntities = 0,
    };

    /// <summary>True when an OBX of the message is an ED carrying a CDA R2 ClinicalDocument.</summary>
    public static bool Carries(Hl7Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        foreach (var obx in message.SegmentsNamed("OBX"))
        {
            if (IsCda(obx))
                return true;
        }
        return false;
    }

    /// <summary>True when this OBX is of type ED and its OBX-5 is a CDA R2 ClinicalDocument.</summary>
    public static bool IsCda(Hl7Segment obx) =>
        string.Equals(obx.GetField(2).GetComponent(1).ValueOrNull, "ED", StringComparison.Ordinal)
        && IsCda(obx.GetField(5).GetRepetition(1).AsEd());

    /// <summary>True when the ED's data (decoded when its encoding is Base64) opens with a CDA R2 ClinicalDocument.</summary>
    public static bool IsCda(Hl7Ed ed)
    {
        if (ed.DataElement.IsEmpty)
            return false;
        byte[] bytes;
        if (string.Equals(ed.Encoding, "Base64", StringComparison.OrdinalIgnoreCase))
        {
            if (!ed.TryDecodeBase64(out bytes))
                return false;
        }
        else
            bytes = System.Text.Encoding.UTF8.GetBytes(ed.Data);
        return IsClinicalDocument(bytes);
    }

    /// <summary>True when the bytes are XML whose root element is `ClinicalDocument` in `urn:hl7-org:v3`.</summary>
    public static bool IsClinicalDocument(byte[] bytes)
    {
        if (!InboundMapper.LooksLikeXml(bytes))
            return false;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            using var reader = XmlReader.Create(stream, Settings);
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element)
                    return reader.LocalName == "ClinicalDocument" && reader.NamespaceURI == Namespace;
            }
        }
        catch (XmlException)
        {
        }
        return false;
    }
}
