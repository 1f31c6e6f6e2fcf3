using System.Xml;
using System.Xml.Linq;

namespace Dmp.Mapping.Cda;

/// <summary>
/// Loads XML with no DTD, no resolver and a size cap: a DOCTYPE (the door to external entities and
/// entity expansion) is refused, and nothing is ever read from disk or network.
/// </summary>
public static class SafeXml
{
    public const long MaxCharacters = 64L * 1024 * 1024;

    public static bool TryLoad(ReadOnlyMemory<byte> bytes, out XDocument? document, out MapError? error)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxCharacters,
            MaxCharactersFromEntities = 0,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            CloseInput = true,
        };
        try
        {
            using var stream = new MemoryStream(bytes.ToArray(), writable: false);
            using var reader = XmlReader.Create(stream, settings);
            document = XDocument.Load(reader, LoadOptions.SetLineInfo);
            error = null;
            return true;
        }
        catch (XmlException e)
        {
            document = null;
            var reason = e.Message;
            // XmlException appends the position to its message; the CLI prints it in front instead.
            var cut = reason.IndexOf(" Line ", StringComparison.Ordinal);
            if (cut > 0)
                reason = reason[..cut].TrimEnd('.', ' ');
            if (reason.Contains("DTD", StringComparison.OrdinalIgnoreCase))
                reason = "DOCTYPE declarations are refused (no DTD, no external entities): " + reason;
            error = new MapError(reason, Line: Math.Max(e.LineNumber, 1), Column: Math.Max(e.LinePosition, 1));
            return false;
        }
    }
}
