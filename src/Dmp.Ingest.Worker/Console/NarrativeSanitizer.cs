using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;

namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>
/// A CDA section's narrative block (<c>&lt;text&gt;</c>, CDA R2 StrucDoc) rewritten as HTML built from an allow-list: only
/// the narrative's own structure (paragraphs, lists, tables, line breaks, sub/superscripts, emphasis) becomes markup,
/// every text is escaped, and nothing else passes — no script or event attribute, no style or class, no link target, no
/// image or multimedia reference (an external resource would leave the origin and tell a third party the patient read it).
/// A link keeps its text only; an embedded multimedia reference becomes a note that it is not shown.
/// </summary>
public static class NarrativeSanitizer
{
    private static readonly XNamespace V3 = "urn:hl7-org:v3";

    /// <summary>CDA narrative element → the HTML element written for it.</summary>
    private static readonly Dictionary<string, string> Elements = new(StringComparer.Ordinal)
    {
        ["paragraph"] = "p",
        ["content"] = "span",
        ["caption"] = "strong",
        ["item"] = "li",
        ["table"] = "table",
        ["thead"] = "thead",
        ["tbody"] = "tbody",
        ["tfoot"] = "tfoot",
        ["tr"] = "tr",
        ["th"] = "th",
        ["td"] = "td",
        ["sub"] = "sub",
        ["sup"] = "sup",
        ["footnote"] = "small",
        ["footnoteRef"] = "small",
        ["linkHtml"] = "span",
    };

    /// <summary>Elements whose content is dropped with them: code, styles and embedded objects are never text to read.</summary>
    private static readonly HashSet<string> Dropped = new(StringComparer.OrdinalIgnoreCase)
    {
        "script", "style", "object", "embed", "iframe", "frame", "frameset", "applet", "img", "svg", "math", "link", "meta", "base", "form",
        "input", "button", "textarea", "select", "template", "noscript",
    };

    /// <summary>Bounds a hostile document's depth: deeper structure is flattened to its text.</summary>
    private const int MaxDepth = 32;

    /// <summary>The narrative as safe HTML (empty when there is none).</summary>
    public static string ToHtml(XElement? text)
    {
        if (text is null)
            return "";
        var html = new StringBuilder();
        foreach (var node in text.Nodes())
            Write(node, html, 0);
        return html.ToString();
    }

    /// <summary>Parses a narrative given as XML text (tests, and callers holding a fragment), then sanitises it.</summary>
    public static string ToHtml(string narrativeXml)
    {
        ArgumentNullException.ThrowIfNull(narrativeXml);
        var bytes = Encoding.UTF8.GetBytes(narrativeXml);
        return Dmp.Mapping.Cda.SafeXml.TryLoad(bytes, out var document, out _) ? ToHtml(document!.Root) : WebUtility.HtmlEncode(narrativeXml);
    }

    private static void Write(XNode node, StringBuilder html, int depth)
    {
        switch (node)
        {
            case XText text:
                html.Append(WebUtility.HtmlEncode(text.Value));
                return;
            case XElement element:
                WriteElement(element, html, depth);
                return;
            default:
                return; // comments and processing instructions never reach the page
        }
    }

    private static void WriteElement(XElement element, StringBuilder html, int depth)
    {
        var name = element.Name.LocalName;
        var narrative = element.Name.Namespace == V3 || element.Name.Namespace == XNamespace.None;
        if (Dropped.Contains(name))
            return;
        if (narrative && name == "renderMultiMedia")
        {
            html.Append("<em>[image not shown]</em>");
            return;
        }
        if (narrative && name == "br")
        {
            html.Append("<br>");
            return;
        }

        if (depth >= MaxDepth)
        {
            // Deeper than any real narrative: its text, escaped, without walking further.
            html.Append(WebUtility.HtmlEncode(element.Value));
            return;
        }

        string? tag = null;
        if (narrative)
        {
            if (name == "list")
                tag = element.Attribute("listType")?.Value == "ordered" ? "ol" : "ul";
            else if (Elements.TryGetValue(name, out var mapped))
                tag = mapped;
        }
        if (tag is null)
        {
            // Unknown or foreign markup: its text survives, escaped, without the markup.
            foreach (var child in element.Nodes())
                Write(child, html, depth + 1);
            return;
        }

        if (tag is "ul" or "ol")
        {
            // A list's caption goes before it: a list holds items only.
            foreach (var caption in element.Elements().Where(e => e.Name.LocalName == "caption"))
            {
                html.Append("<p><strong>");
                foreach (var child in caption.Nodes())
                    Write(child, html, depth + 1);
                html.Append("</strong></p>");
            }
        }
        else if (tag == "strong" && element.Parent?.Name.LocalName == "table")
        {
            tag = "caption";
        }

        html.Append('<').Append(tag);
        if (tag is "td" or "th")
        {
            AppendSpan(element, "colspan", html);
            AppendSpan(element, "rowspan", html);
        }
        html.Append('>');
        foreach (var child in element.Nodes())
        {
            if (tag is "ul" or "ol" && child is XElement { Name.LocalName: "caption" })
                continue;
            Write(child, html, depth + 1);
        }
        html.Append("</").Append(tag).Append('>');
    }

    /// <summary>colspan / rowspan, only as a small whole number.</summary>
    private static void AppendSpan(XElement element, string name, StringBuilder html)
    {
        if (element.Attribute(name)?.Value is { } value &&
            int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var span) && span is > 0 and <= 100)
            html.Append(' ').Append(name).Append("=\"").Append(span.ToString(CultureInfo.InvariantCulture)).Append('"');
    }
}
