using System.Text;
using Dmp.Ingest.Worker.OperatorConsole;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>The CDA narrative sanitiser: the narrative's structure survives, nothing that runs, loads or styles does.</summary>
public sealed class DossierNarrativeTests
{
    /// <summary>A section narrative written by an attacker: script, event handlers, javascript: and remote links, images, styles.</summary>
    public const string Hostile = """
        <text xmlns="urn:hl7-org:v3" xmlns:h="http://www.w3.org/1999/xhtml">
          <paragraph styleCode="Bold" style="background:url(http://203.0.113.7/p.png)" onclick="alert(1)">Visible <content ID="c1" onerror="alert(2)" style="color:red">kept text</content></paragraph>
          <script>alert('script')</script>
          <h:script>alert('xhtml')</h:script>
          <linkHtml href="javascript:alert(3)">a javascript link</linkHtml>
          <linkHtml href="http://203.0.113.7/track">a remote link</linkHtml>
          <renderMultiMedia referencedObject="MM1"/>
          <h:img src="http://203.0.113.7/pixel.png" onerror="alert(4)"/>
          <img src="http://203.0.113.7/pixel2.png"/>
          <iframe src="http://203.0.113.7/"/>
          <style>body { background: url(http://203.0.113.7/bg.png) }</style>
          <table border="1" style="x"><caption>Results</caption><tbody><tr><td colspan="2" style="background:url(http://203.0.113.7/bg)" onmouseover="alert(5)">cell</td><td rowspan="x">c2</td></tr></tbody></table>
          <list listType="ordered"><item>first</item><item><content>second</content></item></list>
          <h:a href="http://203.0.113.7/">foreign anchor</h:a>
          <!-- a comment --><?pi data?>
        </text>
        """;

    [Fact]
    public void Hostile_narrative_keeps_its_text_and_structure_and_loses_everything_that_runs_loads_or_styles()
    {
        var html = NarrativeSanitizer.ToHtml(Hostile);

        foreach (var forbidden in (string[])["<script", "alert(", "onerror", "onclick", "onmouseover", "javascript:", "203.0.113.7", "style", "<img", "<iframe",
                     "href", "src=", "<a ", "class=\"", "ID=", "<!--", "<?", "styleCode"])
            Assert.DoesNotContain(forbidden, html, StringComparison.OrdinalIgnoreCase);

        Assert.Contains("<p>Visible <span>kept text</span></p>", html, StringComparison.Ordinal);
        Assert.Contains("<span>a javascript link</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span>a remote link</span>", html, StringComparison.Ordinal);
        Assert.Contains("<td colspan=\"2\">cell</td><td>c2</td>", html, StringComparison.Ordinal);
        Assert.Contains("<ol><li>first</li><li><span>second</span></li></ol>", html, StringComparison.Ordinal);
        Assert.Contains("foreign anchor", html, StringComparison.Ordinal);
        Assert.Contains("[image not shown]", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_that_looks_like_markup_is_escaped()
    {
        var html = NarrativeSanitizer.ToHtml("""<text xmlns="urn:hl7-org:v3"><paragraph>&lt;script&gt;alert(1)&lt;/script&gt; &amp; "quotes"</paragraph></text>""");

        Assert.Equal("<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;</p>", html);
    }

    [Fact]
    public void A_narrative_that_is_not_xml_is_shown_as_escaped_text_and_a_DTD_is_refused()
    {
        Assert.Equal("&lt;text&gt;&lt;b&gt;unclosed", NarrativeSanitizer.ToHtml("<text><b>unclosed"));
        var withEntity = """<!DOCTYPE text [<!ENTITY x SYSTEM "http://203.0.113.7/">]><text xmlns="urn:hl7-org:v3">&x;</text>""";
        Assert.DoesNotContain("<", NarrativeSanitizer.ToHtml(withEntity).Replace("&lt;", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_is_flattened_to_text_not_a_stack_overflow()
    {
        var deep = new StringBuilder("<text xmlns=\"urn:hl7-org:v3\">");
        for (var i = 0; i < 5000; i++)
            deep.Append("<content>");
        deep.Append("deep");
        for (var i = 0; i < 5000; i++)
            deep.Append("</content>");
        deep.Append("</text>");

        var html = NarrativeSanitizer.ToHtml(deep.ToString());

        Assert.Contains("deep", html, StringComparison.Ordinal);
    }
}
