using System.Runtime.InteropServices;
using System.Xml;
using System.Xml.Linq;

namespace Dmp.Mapping.Cda;

/// <summary>What the prolog of an XML input leads to: its root element, a DOCTYPE (refused), or a reading error.</summary>
/// <param name="LocalName">The root element's local name; null when there is none.</param>
/// <param name="Namespace">The root element's namespace URI.</param>
/// <param name="HasDocumentType">True when the input declares a DTD (a DOCTYPE before its root element).</param>
/// <param name="Error">Why the prolog does not read (malformed XML), when it does not and is not a DTD.</param>
public sealed record XmlRoot(string? LocalName, string? Namespace, bool HasDocumentType, XmlException? Error);

/// <summary>
/// Reads XML with no DTD, no resolver and a size cap: a DOCTYPE (the door to external entities and
/// entity expansion) is refused, and nothing is ever read from disk or network. Every reader of
/// untrusted XML (the CDA mapper, the inbox door) goes through here.
/// </summary>
public static class SafeXml
{
    public const long MaxCharacters = 64L * 1024 * 1024;

    /// <summary>The settings every reader of untrusted XML uses: DTDs prohibited, no resolver, the size cap, comments and PIs skipped.</summary>
    public static XmlReaderSettings ReaderSettings() => Settings(DtdProcessing.Prohibit);

    /// <summary>A reader over <paramref name="bytes"/> with <see cref="ReaderSettings"/>; it owns its stream.</summary>
    public static XmlReader OpenReader(ReadOnlyMemory<byte> bytes) => Open(bytes, DtdProcessing.Prohibit);

    public static bool TryLoad(ReadOnlyMemory<byte> bytes, out XDocument? document, out MapError? error)
    {
        try
        {
            using var reader = OpenReader(bytes);
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
            if (DeclaresDocumentType(bytes))
                reason = "DOCTYPE declarations are refused (no DTD, no external entities): " + reason;
            error = new MapError(reason, Line: Math.Max(e.LineNumber, 1), Column: Math.Max(e.LinePosition, 1));
            return false;
        }
    }

    /// <summary>Reads the prolog up to the root element (no further): the element's name, or the DTD or error that stops it.</summary>
    public static XmlRoot ReadRoot(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            using var reader = OpenReader(bytes);
            return reader.MoveToContent() == XmlNodeType.Element
                ? new XmlRoot(reader.LocalName, reader.NamespaceURI, false, null)
                : new XmlRoot(null, null, false, null);
        }
        catch (XmlException e)
        {
            return DeclaresDocumentType(bytes) ? new XmlRoot(null, null, true, null) : new XmlRoot(null, null, false, e);
        }
    }

    /// <summary>
    /// True when the input has a DOCTYPE: its prolog reads to the root element once DOCTYPEs are skipped
    /// (<see cref="DtdProcessing.Ignore"/>, which neither parses nor reports them), but not when they are prohibited.
    /// Decided by how the reader reads the input, never by an exception's text; the DTD itself is never parsed.
    /// </summary>
    public static bool DeclaresDocumentType(ReadOnlyMemory<byte> bytes) =>
        ReachesRoot(bytes, DtdProcessing.Ignore) && !ReachesRoot(bytes, DtdProcessing.Prohibit);

    private static bool ReachesRoot(ReadOnlyMemory<byte> bytes, DtdProcessing dtd)
    {
        try
        {
            using var reader = Open(bytes, dtd);
            return reader.MoveToContent() == XmlNodeType.Element;
        }
        catch (XmlException)
        {
            return false;
        }
    }

    private static XmlReader Open(ReadOnlyMemory<byte> bytes, DtdProcessing dtd)
    {
        var stream = MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);
        return XmlReader.Create(stream, Settings(dtd));
    }

    private static XmlReaderSettings Settings(DtdProcessing dtd) => new()
    {
        DtdProcessing = dtd,
        XmlResolver = null,
        MaxCharactersInDocument = MaxCharacters,
        MaxCharactersFromEntities = 0,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        CloseInput = true,
    };
}
