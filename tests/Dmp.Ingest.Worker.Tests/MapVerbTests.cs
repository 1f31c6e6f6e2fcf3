using Dmp.Mapping.Fhir;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Dmp.Ingest.Worker.Tests;

public sealed class MapVerbTests
{
    public static TheoryData<string> Hl7v2CorpusFiles() => new(CliRunner.Files("hl7v2").Select(f => Path.GetRelativePath(CliRunner.TestData(), f)));
    public static TheoryData<string> CdaCorpusFiles() => new(CliRunner.Files("cda").Select(f => Path.GetRelativePath(CliRunner.TestData(), f)));

    [Fact]
    public void The_corpus_is_all_there()
    {
        // 60 international + 11 French HL7 v2 files, 19 + 10 CDA documents (../shared/corpus/SOURCES.md).
        Assert.Equal(71, CliRunner.Files("hl7v2").Count());
        Assert.Equal(29, CliRunner.Files("cda").Count());
    }

    [Theory]
    [MemberData(nameof(Hl7v2CorpusFiles))]
    public async Task Every_hl7v2_corpus_file_maps_to_a_strict_bundle(string relative)
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("map", CliRunner.TestData(relative));

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal("", stderr);
        var bundle = FhirJson.DeserializeStrict<Bundle>(stdout);
        Assert.Equal(Bundle.BundleType.Collection, bundle.Type);
        Assert.NotEmpty(bundle.Entry.Select(e => e.Resource).OfType<MessageHeader>());
        AssertReferencesResolve(bundle);
    }

    [Theory]
    [MemberData(nameof(CdaCorpusFiles))]
    public async Task Every_cda_corpus_file_maps_to_a_document_reference(string relative)
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("map", CliRunner.TestData(relative));

        Assert.True(code == 0, $"exit {code}: {stderr}");
        var bundle = FhirJson.DeserializeStrict<Bundle>(stdout);
        var document = Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>());
        Assert.NotNull(document.Type);
        Assert.NotNull(document.MasterIdentifier);
        AssertReferencesResolve(bundle);
    }

    [Fact]
    public async Task French_admission_maps_the_ins_with_its_oid_and_the_identity_status()
    {
        var (code, stdout, _) = await CliRunner.RunAsync("map", CliRunner.TestData("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"));

        Assert.Equal(0, code);
        var bundle = FhirJson.DeserializeStrict<Bundle>(stdout);
        var patient = Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<Patient>());
        var ins = Assert.Single(patient.Identifier, i => i.System == "urn:oid:1.2.250.1.213.1.4.10");
        Assert.Equal("279035121518989", ins.Value);
        Assert.Contains(patient.Identifier, i => i.Value == "000003");
        Assert.Equal("PAT-TROIS", patient.Name[0].Family);
        Assert.Equal(HumanName.NameUse.Official, patient.Name[0].Use);
        Assert.Equal("1979-03-28", patient.BirthDate);
        Assert.Equal(AdministrativeGender.Female, patient.Gender);
        var reliability = Assert.Single(patient.Extension, e => e.Url == Dmp.Mapping.Fhir.Projection.DmpFhir.IdentityReliabilityExtension);
        Assert.Equal("VALI", Assert.IsType<Coding>(reliability.Extension[0].Value).Code);
        var header = Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<MessageHeader>());
        Assert.Equal("A01", ((Coding)header.Event).Code);
        Assert.Equal("urn:uuid:" + patient.Id, Assert.Single(header.Focus).Reference);
    }

    [Fact]
    public async Task Accented_names_from_utf8_messages_survive_mapping()
    {
        var (code, stdout, _) = await CliRunner.RunAsync("map", CliRunner.TestData("hl7v2", "french", "ans_PAMFR_consent_NonConsentementConsultation_OppositionAlimentation.er7"));

        Assert.Equal(0, code);
        Assert.DoesNotContain('\uFFFD', stdout);
    }

    [Fact]
    public async Task Mapping_the_same_file_twice_gives_identical_output()
    {
        var file = CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7");
        var first = await CliRunner.RunAsync("map", file);
        var second = await CliRunner.RunAsync("map", file);

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.Stdout, second.Stdout);
    }

    [Fact]
    public async Task A_batch_file_gives_one_message_header_per_message()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("map", CliRunner.TestData("hl7v2", "reportstream_batch_message.hl7"));

        Assert.True(code == 0, stderr);
        var bundle = FhirJson.DeserializeStrict<Bundle>(stdout);
        Assert.True(bundle.Entry.Select(e => e.Resource).OfType<MessageHeader>().Count() > 1);
    }

    [Fact]
    public async Task A_message_type_without_a_rule_says_so_in_an_operation_outcome()
    {
        var (code, stdout, _) = await CliRunner.RunAsync("map", CliRunner.TestData("hl7v2", "fhirconv_SIU-S12-01.hl7"));

        Assert.Equal(0, code);
        var bundle = FhirJson.DeserializeStrict<Bundle>(stdout);
        var outcome = Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<OperationOutcome>());
        Assert.Contains(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Information && i.Diagnostics!.Contains("SIU^S12", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("empty.hl7", "empty")]
    [InlineData("no-msh.hl7", "MSH")]
    [InlineData("binary.hl7", "HL7")]
    [InlineData("adt-without-pid.hl7", "PID")]
    public async Task Bad_hl7v2_input_gives_one_line_naming_file_and_position_and_exit_65(string file, string reasonContains)
    {
        var path = CliRunner.TestData("malformed", file);
        var (code, stdout, stderr) = await CliRunner.RunAsync("map", path);

        Assert.Equal(65, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(path + ":", line, StringComparison.Ordinal);
        Assert.Contains(reasonContains, line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_adt_without_pid_names_the_segment()
    {
        var path = CliRunner.TestData("malformed", "adt-without-pid.hl7");
        var (_, _, stderr) = await CliRunner.RunAsync("map", path);

        Assert.Matches(@": segment \d+ \([A-Z0-9]{3}\)( field \d+)?: ", stderr);
    }

    [Theory]
    [InlineData("xxe.xml")]
    [InlineData("billion-laughs.xml")]
    [InlineData("broken.xml")]
    public async Task Hostile_or_broken_xml_gives_file_line_column_and_exit_65(string file)
    {
        var path = CliRunner.TestData("malformed", file);
        var (code, stdout, stderr) = await CliRunner.RunAsync("map", path);

        Assert.Equal(65, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("^" + System.Text.RegularExpressions.Regex.Escape(path) + @":\d+:\d+: ", line);
        Assert.DoesNotContain("root:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_exits_66()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("map", "/nonexistent/file.hl7");

        Assert.Equal(66, code);
        Assert.Contains("/nonexistent/file.hl7", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("map")]
    [InlineData("map", "a.hl7", "--bogus")]
    [InlineData("frobnicate", "x")]
    public async Task Bad_usage_exits_64_with_one_line(params string[] args)
    {
        var (code, _, stderr) = await CliRunner.RunAsync(args);

        Assert.Equal(64, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Explain_warns_about_an_INS_whose_assigning_authority_no_table_knows()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-explain-");
        try
        {
            var original = await File.ReadAllTextAsync(CliRunner.TestData("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"));
            var path = Path.Combine(dir.FullName, "unknown-authority.er7");
            await File.WriteAllTextAsync(path, original.Replace("^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS", "^^^MYSTERY^INS", StringComparison.Ordinal));

            var (code, _, stderr) = await CliRunner.RunAsync("map", "--explain", path);

            Assert.Equal(0, code);
            Assert.Contains("assigning authority 'MYSTERY' is in no table (mappings/tables/assigning-authorities.yaml) and CX-4.2 gives no OID: it stays a local identifier, not an INS", stderr, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Explain_names_the_field_that_decides_the_outcome()
    {
        var opposition = await CliRunner.RunAsync("map", "--explain", CliRunner.TestData("hl7v2", "french", "ans_PAMFR_consent_NonConsentementConsultation_OppositionAlimentation.er7"));
        var acknowledgement = await CliRunner.RunAsync("map", "--explain", CliRunner.TestData("hl7v2", "french", "ans_TDCDA-2.1_ZAM_Z01_reception_DMP.hl7"));

        Assert.Contains("ZFA-9 IO: the patient opposes feeding the DMP from CHU-X: its documents are refused (refused-by-patient)", opposition.Stderr, StringComparison.Ordinal);
        Assert.Contains("MSH-9 ZAM: no meaning for the dossier: the gateway marks it ignored", acknowledgement.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configuration_overrides_are_accepted_after_the_verb()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("map", CliRunner.TestData("hl7v2", "fhirconv_ADT-A04-02.hl7"), "--Dmp:Rules:Path=elsewhere", "--Dmp:DataDir=/tmp/x");

        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task A_file_name_starting_with_at_is_a_file_not_a_response_file()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-map-");
        try
        {
            var path = Path.Combine(dir.FullName, "@msg.hl7");
            File.Copy(CliRunner.TestData("hl7v2", "fhirconv_ADT-A04-02.hl7"), path);
            var previous = Directory.GetCurrentDirectory();
            Directory.SetCurrentDirectory(dir.FullName);
            try
            {
                var (code, _, stderr) = await CliRunner.RunAsync("map", "@msg.hl7");
                Assert.True(code == 0, stderr);
            }
            finally
            {
                Directory.SetCurrentDirectory(previous);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void AssertReferencesResolve(Bundle bundle)
    {
        var fullUrls = bundle.Entry.Select(e => e.FullUrl).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in bundle.Entry)
        {
            foreach (var reference in Descendants(entry.Resource!).OfType<ResourceReference>())
            {
                if (reference.Reference is { } target)
                    Assert.Contains(target, fullUrls);
            }
        }
    }

    private static IEnumerable<Base> Descendants(Base node) =>
        new[] { node }.Concat(node.EnumerateElements().SelectMany(e => e.Value switch
        {
            Base single => Descendants(single),
            IEnumerable<Base> many => many.SelectMany(Descendants),
            _ => [],
        }));
}
