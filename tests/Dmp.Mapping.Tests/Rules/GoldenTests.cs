using Dmp.Mapping.Fhir;
using Dmp.Mapping.Hl7v2;
using Hl7.Fhir.Model;

namespace Dmp.Mapping.Tests.Rules;

/// <summary>
/// tests/golden/NAME.hl7 (HL7 v2) or NAME.xml (CDA R2) → NAME.json, compared as FHIR: both sides strict-parsed by Firely and written back
/// compactly. Set DMP_UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change.
/// </summary>
public sealed class GoldenTests
{
    private static readonly string[] InputExtensions = [".hl7", ".xml"];

    /// <summary>Each golden input by file name (NAME.hl7 or NAME.xml; the content decides how it maps).</summary>
    public static TheoryData<string> Cases() => CasesWith(InputExtensions);

    /// <summary>The HL7 v2 golden inputs: each is a message with a MessageHeader and a Provenance.</summary>
    public static TheoryData<string> MessageCases() => CasesWith([".hl7"]);

    /// <summary>The CDA R2 golden inputs: each is a document, its own provenance.</summary>
    public static TheoryData<string> DocumentCases() => CasesWith([".xml"]);

    private static TheoryData<string> CasesWith(string[] extensions) =>
        new(Directory.EnumerateFiles(RulesTestSupport.GoldenFolder)
            .Where(f => extensions.Contains(Path.GetExtension(f), StringComparer.Ordinal))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    [Fact]
    public void Golden_case_names_are_unique()
    {
        var names = Directory.EnumerateFiles(RulesTestSupport.GoldenFolder)
            .Where(f => InputExtensions.Contains(Path.GetExtension(f), StringComparer.Ordinal))
            .Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Golden_case_maps_to_its_expected_bundle(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        var input = File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, file));
        var result = InboundMapper.Map(input, "file", RulesTestSupport.Rules);
        Assert.True(result.Error is null, result.Error?.Format(name));
        var actual = Normalise(FhirJson.Serialize(result.Bundle!));

        var expectedPath = Path.Combine(RulesTestSupport.GoldenFolder, name + ".json");
        if (Environment.GetEnvironmentVariable("DMP_UPDATE_GOLDEN") == "1" && RulesTestSupport.SourceGoldenFolder() is { } source)
        {
            File.WriteAllText(Path.Combine(source, name + ".json"), FhirJson.Serialize(result.Bundle!) + "\n");
            return;
        }
        Assert.True(File.Exists(expectedPath), $"no golden file {name}.json: run with DMP_UPDATE_GOLDEN=1 and review it");
        Assert.Equal(Normalise(File.ReadAllText(expectedPath)), actual);
    }

    [Fact]
    public void Every_rule_file_has_a_golden_case()
    {
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(RulesTestSupport.GoldenFolder, "*.hl7"))
        {
            var batch = Hl7Batch.Split(File.ReadAllBytes(file));
            foreach (var raw in batch.Messages)
            {
                if (Hl7Message.Parse(raw).Message is { } message && RulesTestSupport.Rules.Select(message) is { } rule)
                    covered.UnionWith(rule.SourceFiles);
            }
        }
        foreach (var file in Directory.EnumerateFiles(RulesTestSupport.GoldenFolder, "*.xml"))
        {
            Assert.True(Dmp.Mapping.Cda.SafeXml.TryLoad(File.ReadAllBytes(file), out var xml, out _), file);
            Assert.True(Dmp.Mapping.Cda.CdaHeaderReader.TryRead(xml!, out var header, out _), file);
            if (RulesTestSupport.Rules.SelectDocument(header!.Type?.Value, header.TemplateIds) is { } rule)
                covered.UnionWith(rule.SourceFiles);
        }
        var missing = RulesTestSupport.Rules.Files.Where(f => !covered.Contains(f)).ToList();
        Assert.True(missing.Count == 0, "rule files no golden case exercises: " + string.Join(", ", missing));
    }

    [Theory]
    [MemberData(nameof(MessageCases))]
    public void Each_message_has_one_provenance_targeting_what_it_produced(string file)
    {
        var bundle = InboundMapper.Map(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, file)), "file", RulesTestSupport.Rules).Bundle!;
        var provenances = bundle.Entry.Select(e => e.Resource).OfType<Provenance>().ToList();
        Assert.Equal(bundle.Entry.Count(e => e.Resource is MessageHeader), provenances.Count);
        var provenance = Assert.Single(provenances);
        var produced = bundle.Entry.Where(e => e.Resource is not (Provenance or OperationOutcome)).Select(e => e.FullUrl).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(produced.Order(StringComparer.Ordinal), provenance.Target.Select(t => t.Reference).Order(StringComparer.Ordinal));
        // recorded: an instant with seconds and a zone; agent.who and entity.what are set.
        Assert.Matches(@"""recorded"":""\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})""", FhirJson.Serialize(provenance, pretty: false));
        var agent = Assert.Single(provenance.Agent);
        Assert.False(string.IsNullOrEmpty(agent.Who?.Display));
        var entity = Assert.Single(provenance.Entity);
        Assert.Equal(Provenance.ProvenanceEntityRole.Source, entity.Role);
        Assert.False(string.IsNullOrEmpty(entity.What.Identifier?.Value));
    }

    [Theory]
    [MemberData(nameof(DocumentCases))]
    public void Each_document_is_one_document_reference_and_what_it_produced_is_about_its_patient(string file)
    {
        var input = File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, file));
        Assert.True(Dmp.Mapping.Cda.SafeXml.TryLoad(input, out var xml, out _), file);
        Assert.True(Dmp.Mapping.Cda.CdaHeaderReader.TryRead(xml!, out var header, out _), file);
        var bundle = InboundMapper.Map(input, "file", RulesTestSupport.Rules).Bundle!;
        var resources = bundle.Entry.Select(e => e.Resource!).ToList();

        // A document is not a message: no MessageHeader, and the document itself (not a Provenance) says where entries came from.
        Assert.DoesNotContain(resources, r => r is MessageHeader or Provenance);
        var reference = Assert.Single(resources.OfType<DocumentReference>());
        Assert.Contains(header!.Id!.Value, reference.MasterIdentifier?.Value ?? "(no masterIdentifier)", StringComparison.Ordinal);
        var patient = Assert.Single(bundle.Entry, e => e.Resource is Patient).FullUrl;
        foreach (var resource in resources.Where(r => r is not (Patient or OperationOutcome)))
            Assert.True(SubjectOf(resource) == patient, $"{file}: {resource.TypeName} is about {SubjectOf(resource) ?? "nobody"}, not the document's patient");
    }

    /// <summary>The patient a clinical resource is about (subject or patient, by type); fails on a type the CDA mapping did not produce before.</summary>
    private static string? SubjectOf(Resource resource) => resource switch
    {
        DocumentReference r => r.Subject?.Reference,
        Encounter r => r.Subject?.Reference,
        Observation r => r.Subject?.Reference,
        DiagnosticReport r => r.Subject?.Reference,
        Condition r => r.Subject?.Reference,
        Procedure r => r.Subject?.Reference,
        MedicationStatement r => r.Subject?.Reference,
        MedicationRequest r => r.Subject?.Reference,
        AllergyIntolerance r => r.Patient?.Reference,
        Immunization r => r.Patient?.Reference,
        _ => throw new Xunit.Sdk.XunitException($"a CDA produced a {resource.TypeName}: say which element names its patient"),
    };

    [Fact]
    public void Golden_bundles_are_deterministic()
    {
        var input = File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, "pam-fr-a01-opposition.hl7"));
        var first = FhirJson.Serialize(InboundMapper.Map(input, "file", RulesTestSupport.Rules).Bundle!);
        var second = FhirJson.Serialize(InboundMapper.Map(input, "file", RulesTestSupport.Rules).Bundle!);
        Assert.Equal(first, second);
    }

    private static string Normalise(string json) => FhirJson.Serialize(FhirJson.DeserializeStrict<Bundle>(json), pretty: false);
}
