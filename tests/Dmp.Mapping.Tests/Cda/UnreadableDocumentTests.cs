using System.Text;
using Dmp.Mapping.Cda;
using Dmp.Mapping.Tests.Rules;

namespace Dmp.Mapping.Tests.Cda;

/// <summary>
/// A document the safe XML reader refuses (a DOCTYPE, entity expansion, not well-formed, over the size cap) is a mapping
/// error wherever it comes from, a CDA file or the base64 OBX-5 of an MDM/ORU: no document is built from it.
/// </summary>
public sealed class UnreadableDocumentTests
{
    private const string Placeholder = "RG9jdW1lbnQgbWVkY2lhbCBhdSBmb3JtYXQgQ0RBIG5pdmVhdSAx";

    /// <summary>The payloads, each built here: a readable CDA with one fault.</summary>
    public static TheoryData<string, string> Unreadable => new()
    {
        { "doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE ClinicalDocument SYSTEM \"http://127.0.0.1:9/cda.dtd\">\n" + Cda("Compte rendu") },
        { "external entity", "<?xml version=\"1.0\"?>\n<!DOCTYPE ClinicalDocument [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n" + Cda("&xxe;") },
        { "billion laughs", "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [ <!ENTITY lol \"lol\"> <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
            + " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\"> ]>\n" + Cda("&lol3;") },
        { "not well-formed", Cda("Compte rendu").Replace("</title>", "", StringComparison.Ordinal) },
        { "undeclared entity", Cda("&undeclared;") },
    };

    [Theory]
    [MemberData(nameof(Unreadable))]
    public void An_unreadable_cda_embedded_in_an_mdm_fails_the_message_on_its_obx(string fault, string cda)
    {
        var result = InboundMapper.Map(Mdm(Encoding.UTF8.GetBytes(cda)), "test", RulesTestSupport.Rules);

        Assert.Null(result.Bundle);
        Assert.NotNull(result.Error);
        Assert.Equal(("OBX", 5), (result.Error.SegmentId, result.Error.Field));
        Assert.Contains("safe reader refuses", result.Error.Reason, StringComparison.Ordinal);
        if (fault is "doctype" or "external entity" or "billion laughs")
            Assert.Contains("DOCTYPE", result.Error.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("root:", result.Error.Reason, StringComparison.Ordinal); // nothing read from the file system
    }

    [Theory]
    [MemberData(nameof(Unreadable))]
    public void An_unreadable_cda_file_is_a_mapping_error(string fault, string cda)
    {
        var result = InboundMapper.Map(Encoding.UTF8.GetBytes(cda), "file", RulesTestSupport.Rules);

        Assert.Null(result.Bundle);
        Assert.True(result.Error!.Line >= 1, fault);
        var model = InboundMapper.MapModel(Encoding.UTF8.GetBytes(cda), "file", RulesTestSupport.Rules);
        Assert.NotNull(model.Error);
    }

    [Fact]
    public void The_same_cda_without_its_fault_is_published_from_the_mdm()
    {
        // The control: the payload the theory breaks maps to a document when it is intact.
        var result = InboundMapper.Map(Mdm(Encoding.UTF8.GetBytes(Cda("Compte rendu"))), "test", RulesTestSupport.Rules);

        Assert.Null(result.Error);
        Assert.Single(result.Bundle!.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.DocumentReference>());
    }

    [Fact]
    public void Xml_that_reads_but_is_no_cda_stays_a_warning_with_the_message_metadata()
    {
        var result = InboundMapper.Map(Mdm("<note>placeholder</note>"u8.ToArray()), "test", RulesTestSupport.Rules);

        Assert.Null(result.Error);
        Assert.Single(result.Bundle!.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.DocumentReference>());
    }

    [Fact]
    [Trait("Tier", "Slow")]
    public void A_cda_over_the_size_cap_is_refused_in_an_mdm_and_as_a_file()
    {
        var head = Encoding.UTF8.GetBytes("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>");
        var tail = Encoding.UTF8.GetBytes("</title></ClinicalDocument>");
        var cda = new byte[head.Length + SafeXml.MaxCharacters + 1 + tail.Length];
        head.CopyTo(cda, 0);
        cda.AsSpan(head.Length, (int)SafeXml.MaxCharacters + 1).Fill((byte)'a');
        tail.CopyTo(cda, cda.Length - tail.Length);

        var file = InboundMapper.Map(cda, "file", RulesTestSupport.Rules);
        Assert.Null(file.Bundle);
        Assert.NotNull(file.Error);

        var mdm = InboundMapper.Map(Mdm(cda), "test", RulesTestSupport.Rules);
        Assert.Null(mdm.Bundle);
        Assert.Equal(("OBX", 5), (mdm.Error!.SegmentId, mdm.Error.Field));
        Assert.Contains("safe reader refuses", mdm.Error.Reason, StringComparison.Ordinal);
    }

    /// <summary>A CDA with its patient, id and type; <paramref name="title"/> goes in as markup (an entity reference stays one).</summary>
    private static string Cda(string title) => $"""
        <ClinicalDocument xmlns="urn:hl7-org:v3">
          <id root="1.2.250.1.999.7" extension="SAFE-1"/>
          <code code="11490-0" codeSystem="2.16.840.1.113883.6.1"/>
          <title>{title}</title>
          <effectiveTime value="20240102120000+0100"/>
          <recordTarget><patientRole><id root="1.2.250.1.213.1.4.8" extension="279035121518989"/></patientRole></recordTarget>
        </ClinicalDocument>
        """;

    /// <summary>The golden MDM^T10 with <paramref name="document"/> base64 in its document OBX-5.</summary>
    private static byte[] Mdm(byte[] document)
    {
        var golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "cisis-mdm-t10-2.0.hl7"), Encoding.UTF8);
        Assert.Contains(Placeholder, golden, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(golden.Replace(Placeholder, Convert.ToBase64String(document), StringComparison.Ordinal));
    }
}
