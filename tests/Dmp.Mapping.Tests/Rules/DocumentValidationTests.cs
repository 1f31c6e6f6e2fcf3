using System.Text;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Rules;
using Hl7.Fhir.Model;

namespace Dmp.Mapping.Tests.Rules;

/// <summary>A document in HL7 v2 says whether its author validated it; a draft maps as preliminary (the store holds it).</summary>
public sealed class DocumentValidationTests
{
    [Theory]
    [InlineData("LA", CompositionStatus.Final)]
    [InlineData("AU", CompositionStatus.Final)]
    [InlineData("IP", CompositionStatus.Preliminary)]
    [InlineData("DI", CompositionStatus.Preliminary)]
    public void Txa_17_decides_whether_an_mdm_document_is_validated(string completion, CompositionStatus expected)
    {
        var golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "cisis-mdm-t10-2.0.hl7"), Encoding.UTF8);
        var edited = golden.Replace("||||LA|||||801234564895", $"||||{completion}|||||801234564895", StringComparison.Ordinal);
        Assert.Equal(completion == "LA", golden == edited); // the golden message says LA
        var rules = RulesTestSupport.Rules;

        var result = InboundMapper.Map(Encoding.UTF8.GetBytes(edited), "test", rules);

        Assert.Null(result.Error);
        var document = Assert.Single(result.Bundle!.Entry.Select(e => e.Resource).OfType<DocumentReference>());
        Assert.Equal(expected, document.DocStatus);
    }
}

/// <summary>A CDA inside an HL7 v2 message is read by the same reader as a CDA file: its entries come along.</summary>
public sealed class EmbeddedCdaTests
{
    [Fact]
    public void The_entries_of_a_cda_embedded_in_an_mdm_are_mapped_with_the_document()
    {
        var golden = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "cisis-mdm-t10-2.0.hl7"), Encoding.UTF8);
        var cda = File.ReadAllBytes(RulesTestSupport.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml"));
        const string placeholder = "RG9jdW1lbnQgbWVkY2lhbCBhdSBmb3JtYXQgQ0RBIG5pdmVhdSAx";
        Assert.Contains(placeholder, golden, StringComparison.Ordinal);
        var message = golden.Replace(placeholder, Convert.ToBase64String(cda), StringComparison.Ordinal);

        var result = InboundMapper.Map(Encoding.UTF8.GetBytes(message), "test", RulesTestSupport.Rules);

        Assert.Null(result.Error);
        var resources = result.Bundle!.Entry.Select(e => e.Resource).ToList();
        Assert.Single(resources.OfType<DocumentReference>());
        Assert.NotEmpty(resources.OfType<Observation>());               // the TSH results of its body
        Assert.NotEmpty(resources.OfType<Hl7.Fhir.Model.DiagnosticReport>());
        Assert.NotNull(FhirJson.DeserializeStrict<Bundle>(FhirJson.Serialize(result.Bundle)));
    }
}
