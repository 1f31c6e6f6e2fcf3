namespace Dmp.Ingest.Worker.Tests;

public sealed class RulesVerbTests
{
    private static string ShippedRules => Path.Combine(AppContext.BaseDirectory, "mappings");

    [Fact]
    public async Task Rules_check_passes_on_the_shipped_rules_with_one_summary_line()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("rules", "check", "--Dmp:Rules:Path=" + ShippedRules);

        Assert.True(code == 0, stderr);
        var line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.EndsWith(": OK", line.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rules_check_names_the_file_line_and_column_of_a_broken_rule_and_exits_65()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-rules-check-");
        try
        {
            foreach (var file in Directory.EnumerateFiles(ShippedRules, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(dir.FullName, Path.GetRelativePath(ShippedRules, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
            var broken = Path.Combine(dir.FullName, "pam-fr-adt.yaml");
            File.WriteAllText(broken, File.ReadAllText(broken).Replace("statusDate: ZFA-2", "statusDate: ZFA-two", StringComparison.Ordinal));

            var (code, stdout, stderr) = await CliRunner.RunAsync("rules", "check", $"--Dmp:Rules:Path={dir.FullName}");

            Assert.Equal(65, code);
            Assert.Equal("", stdout);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Matches("^" + System.Text.RegularExpressions.Regex.Escape(broken) + @":\d+:\d+: bad HL7 path 'ZFA-two'", line);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Map_uses_the_rules_and_explain_lists_what_no_rule_read_on_stderr()
    {
        var (code, stdout, stderr) = await CliRunner.RunAsync("map", "--explain", CliRunner.TestData("hl7v2", "french", "ans_PAMFR_consent_ConsentementConsultation_NonOppositionAlimentation.er7"), "--Dmp:Rules:Path=" + ShippedRules);

        Assert.Equal(0, code);
        var bundle = Dmp.Mapping.Fhir.FhirJson.DeserializeStrict<Hl7.Fhir.Model.Bundle>(stdout);
        Assert.Equal(2, bundle.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Consent>().Count());
        Assert.Contains("rule pam-fr-adt (pam-fr-adt.yaml)", stderr, StringComparison.Ordinal);
        Assert.Contains("PD1: no rule reads it", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Map_refuses_broken_rules_with_file_line_and_column()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-rules-map-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "bad.yaml"), "rule: bad\nwhen:\n  message: ADT\nrecords:\n  - record: patient\n    fields:\n      birthDate: PID-\n");
            var (code, _, stderr) = await CliRunner.RunAsync("map", CliRunner.TestData("hl7v2", "fhirconv_ADT-A01-01.hl7"), $"--Dmp:Rules:Path={dir.FullName}");

            Assert.Equal(65, code);
            Assert.StartsWith(Path.Combine(dir.FullName, "bad.yaml") + ":7:18: bad HL7 path", stderr, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
