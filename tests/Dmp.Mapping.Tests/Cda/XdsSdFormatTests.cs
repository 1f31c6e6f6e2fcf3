using System.Xml.Linq;
using Dmp.Mapping.Cda;

namespace Dmp.Mapping.Tests.Cda;

/// <summary>
/// The XDS formatCode a CDA states of itself (IHE ITI TF-3 5.2): only an XDS-SD, by its template and its nonXMLBody's
/// media type; every other CDA states none.
/// </summary>
public sealed class XdsSdFormatTests
{
    private const string XdsSdTemplate = "<templateId root=\"1.3.6.1.4.1.19376.1.2.20\"/>";

    [Theory]
    [InlineData("application/pdf", "urn:ihe:iti:xds-sd:pdf:2008")]
    [InlineData("text/plain", "urn:ihe:iti:xds-sd:text:2008")]
    public void An_XDS_SD_states_the_format_of_its_nonXMLBody(string mediaType, string format)
    {
        var header = Header(XdsSdTemplate, NonXmlBody(mediaType));

        Assert.Equal(format, CdaMapper.XdsSdFormat(header));
    }

    [Theory]
    [InlineData("application/pdf")]
    [InlineData("text/plain")]
    public void A_nonXMLBody_without_the_XDS_SD_template_states_none(string mediaType) =>
        Assert.Null(CdaMapper.XdsSdFormat(Header("<templateId root=\"1.2.250.1.213.1.1.1.1\"/>", NonXmlBody(mediaType))));

    [Fact]
    public void A_structured_body_states_none() =>
        Assert.Null(CdaMapper.XdsSdFormat(Header("", "<component><structuredBody/></component>")));

    [Fact]
    public void An_XDS_SD_of_another_media_type_states_none() =>
        Assert.Null(CdaMapper.XdsSdFormat(Header(XdsSdTemplate, NonXmlBody("image/jpeg"))));

    private static string NonXmlBody(string mediaType) =>
        $"<component><nonXMLBody><text mediaType=\"{mediaType}\" representation=\"B64\">JVBERi0=</text></nonXMLBody></component>";

    private static CdaHeader Header(string templates, string body)
    {
        var xml = XDocument.Parse(
            $"""
            <ClinicalDocument xmlns="urn:hl7-org:v3">
              <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
              {templates}
              <id root="1.2.250.1.999.1" extension="XDS-SD-1"/>
              <code code="11490-0" codeSystem="2.16.840.1.113883.6.1"/>
              {body}
            </ClinicalDocument>
            """);
        Assert.True(CdaHeaderReader.TryRead(xml, out var header, out var error), error?.ToString());
        return header!;
    }
}
