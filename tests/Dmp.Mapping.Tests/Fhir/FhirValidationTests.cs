using Dmp.Mapping.Fhir;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Mapping.Tests.Rules;
using Hl7.Fhir.Model;

namespace Dmp.Mapping.Tests.Fhir;

/// <summary>
/// Every Bundle `map` prints for the shared corpus copy (tests/Dmp.Mapping.Tests/TestData: HL7 v2 and CDA) and for the
/// golden inputs validates against base R4 with the project's extensions' StructureDefinitions: zero errors.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class FhirValidationTests(R4Validation validation) : IClassFixture<R4Validation>
{
    public static TheoryData<string> Inputs()
    {
        var files = Directory.EnumerateFiles(RulesTestSupport.TestData("hl7v2"), "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(RulesTestSupport.TestData("cda"), "*", SearchOption.AllDirectories))
            .Select(f => Path.Combine("TestData", Path.GetRelativePath(RulesTestSupport.TestData(), f)))
            .Concat(Directory.EnumerateFiles(RulesTestSupport.GoldenFolder).Where(f => f.EndsWith(".hl7", StringComparison.Ordinal) || f.EndsWith(".xml", StringComparison.Ordinal))
                .Select(f => Path.Combine("golden", Path.GetFileName(f))));
        return new TheoryData<string>(files.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Each_bundle_map_prints_validates_against_base_R4(string relative)
    {
        var result = InboundMapper.Map(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, relative)), "file", RulesTestSupport.Rules);
        if (result.Error is not null)
            return; // refused input (a mapping error with its position), not a Bundle: nothing to validate
        var errors = validation.Errors(result.Bundle!);
        Assert.True(errors.Count == 0, $"{relative}: {errors.Count} error(s)\n" + string.Join('\n', errors.Take(20)));
    }

    [Fact]
    public void The_project_extensions_have_canonical_urls_and_definitions_the_validator_loads()
    {
        string[] urls = [DmpFhir.DossierStatusExtension, DmpFhir.MovementExtension, DmpFhir.DocumentActionExtension, DmpFhir.RoutingExtension];
        foreach (var url in urls)
        {
            Assert.StartsWith(DmpFhir.CanonicalBase + "/StructureDefinition/", url, StringComparison.Ordinal);
            var name = url[(url.LastIndexOf('/') + 1)..];
            Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "fhir-definitions", $"StructureDefinition-{name}.json")), name);
        }
        // An extension the definitions do not allow is an error: the validator does read them.
        var reference = new DocumentReference
        {
            Status = DocumentReferenceStatus.Current,
            Content = [new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "text/plain" } }],
            Extension = [new Extension(DmpFhir.DocumentActionExtension, new FhirBoolean(true))],
        };
        Assert.NotEmpty(validation.Errors(reference));
        reference.Extension = [new Extension(DmpFhir.DocumentActionExtension, new Code("new"))];
        Assert.Empty(validation.Errors(reference));
    }

    [Fact]
    public void A_local_reference_needs_its_contained_resource()
    {
        var reference = new DocumentReference
        {
            Status = DocumentReferenceStatus.Current,
            Content = [new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "text/plain" } }],
            Author = [new ResourceReference("#author")],
        };
        Assert.Contains(validation.Errors(reference), e => e.StartsWith("Error ref-1: #author", StringComparison.Ordinal));
        reference.Contained = [new Practitioner { Id = "author" }];
        Assert.DoesNotContain(validation.Errors(reference), e => e.Contains("ref-1", StringComparison.Ordinal));
    }

    [Fact]
    public void An_allergy_without_a_status_in_its_source_is_active_and_an_inactive_one_stays_inactive()
    {
        var provenance = new Dmp.Model.Provenance("file/test", null, null, null);
        var active = AllergyProjection.ToFhir(new Dmp.Model.Allergy { Substance = new Dmp.Model.Code("227493005", "http://snomed.info/sct", "Cashew nuts"), Provenance = provenance }, "a", new ResourceReference("Patient/p"));
        Assert.Equal("active", active.ClinicalStatus!.Coding[0].Code);
        Assert.Empty(validation.Errors(active));
        var inactive = AllergyProjection.ToFhir(new Dmp.Model.Allergy { Substance = new Dmp.Model.Code("227493005", "http://snomed.info/sct", null), ClinicalStatus = "inactive", Provenance = provenance }, "b", new ResourceReference("Patient/p"));
        Assert.Equal("inactive", inactive.ClinicalStatus!.Coding[0].Code);
        // Without one, R4 invariant ait-1 fails: the validator does check it.
        inactive.ClinicalStatus = null;
        Assert.Contains(validation.Errors(inactive), e => e.Contains("ait-1", StringComparison.Ordinal));
    }
}
