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
