using System.Text;
using Dmp.Mapping.Hl7v2;
using Dmp.Mapping.Rules;
using Dmp.Model;

namespace Dmp.Mapping.Tests.Rules;

public sealed class RuleSetTests
{
    private static Hl7Message Parse(string text) => Hl7Message.Parse(Encoding.UTF8.GetBytes(text.Replace("\n", "\r", StringComparison.Ordinal))).Message!;

    private static Hl7Message Corpus(params string[] parts) => Hl7Message.Parse(File.ReadAllBytes(RulesTestSupport.TestData(["hl7v2", .. parts]))).Message!;

    private static MappedMessage MapOk(Hl7Message message)
    {
        var result = RulesTestSupport.Rules.Map(message, "test");
        Assert.True(result.Error is null, result.Error?.Reason);
        return result.Message!;
    }

    [Fact]
    public void The_shipped_rules_load_and_compile()
    {
        var loaded = RuleSet.Load(RulesTestSupport.MappingsFolder);
        Assert.True(loaded.Success, string.Join('\n', loaded.Errors));
        Assert.Contains(loaded.Rules!.Rules, r => r.Id == "pam-fr-adt");
    }

    [Fact]
    public void Feeding_opposition_and_refused_consultation_come_from_zfa()
    {
        var mapped = MapOk(Corpus("french", "ans_PAMFR_consent_NonConsentementConsultation_OppositionAlimentation.er7"));

        Assert.Equal("pam-fr-adt", mapped.Rule);
        var choices = Assert.Single(mapped.Choices);
        Assert.Equal(DossierStatus.Open, choices.Status);
        Assert.Equal(Choice.Yes, choices.OpposesFeeding);
        Assert.Equal(Choice.No, choices.ConsentsToConsultation);
        Assert.Null(choices.OpposesEmergencyAccess);
        var patient = Assert.Single(mapped.Patients);
        Assert.Equal(Oids.InsNirTest, patient.Ins!.System);
        Assert.Equal("INSI", patient.IdentityCheck!.Mode);
        Assert.Contains(mapped.Notes, n => n.Text.Contains("ZFM", StringComparison.Ordinal));
    }

    [Fact]
    public void Older_senders_emergency_oppositions_are_honoured()
    {
        var mapped = MapOk(Parse("MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20240306111154||ADT^A08^ADT_A01|1|P|2.5|||||FRA|UNICODE UTF-8|FR||2.10^IHE_FRANCE-2.10-PAM\nPID|1||000003^^^CHU-X^PI||A^B\nZFA|ACTIF|20240306||Y|20240301|Y|N|||||\n"));

        var choices = Assert.Single(mapped.Choices);
        Assert.True(choices.OpposesEmergencyAccess);
        Assert.False(choices.OpposesRegulationCentreAccess);
        Assert.True(choices.FacilityAuthorised);
        Assert.Equal(Choice.NotCollected, choices.OpposesFeeding);
    }

    [Fact]
    public void Version_1_2_spellings_of_the_flags_are_read()
    {
        var text = File.ReadAllText(RulesTestSupport.TestData("hl7v2", "french", "ans_TDCDA-1.2_ORU_message.hl7"))
            .Replace("INVISIBLE_REPRESENTANTS_LEGAUX^Non visible par les représentants Légaux du patient||N", "INVISIBLE_REPRESENTANTS_LEGAUX^Non visible par les représentants Légaux du patient||Y", StringComparison.Ordinal)
            .Replace("MODIF_CONFIDENTIALITYCODE^Modification Confidentiality Code||N", "MODIF_CONFIDENTIALITYCODE^Modification Confidentiality Code||Y", StringComparison.Ordinal);
        var document = Assert.Single(MapOk(Hl7Message.Parse(Encoding.UTF8.GetBytes(text)).Message!).Documents);

        Assert.True(document.Visibility.HiddenFromLegalRepresentatives);
        Assert.True(document.Visibility.ChangesConfidentiality);
        Assert.False(document.Visibility.MaskedToProfessionals);
        Assert.True(document.Routing.ToDmp);
    }

    [Fact]
    public void A_replacement_names_its_parent_and_keeps_the_placeholder_with_a_warning()
    {
        var mapped = MapOk(Corpus("french", "ans_TDCDA-2.0_MDM_T10_CR-Radio_RPLC_N1.er7"));

        var document = Assert.Single(mapped.Documents);
        Assert.Equal(DocumentAction.Replace, document.Action);
        Assert.Equal("1.2.250.1.71.4.2.2.120456789A71024000081", Assert.Single(document.Replaces).Value);
        Assert.Equal("18748-4", document.TypeCode!.Value);
        Assert.Equal(Oids.Rpps, document.Author!.Id!.System);
        Assert.Contains(mapped.Notes, n => n.Severity == NoteSeverity.Warning && n.Text.Contains("not a CDA", StringComparison.Ordinal));
    }

    [Fact]
    public void An_embedded_cda_gives_the_document_its_header()
    {
        var document = Assert.Single(MapOk(Corpus("french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7")).Documents);

        Assert.Equal("text/xml", document.MimeType);
        Assert.Equal("urn:oid:1.2.250.1.71.4.2.2.120456789.71024000081", document.UniqueId!.Value);
        Assert.True(document.Visibility.HiddenFromPatient);
        Assert.Equal(64, document.Sha256!.Length);
    }

    [Fact]
    public void Lifecycle_signals_that_disagree_reject_the_message()
    {
        var text = File.ReadAllText(RulesTestSupport.TestData("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7"))
            .Replace("MDM^T02^MDM_T02", "MDM^T10^MDM_T02", StringComparison.Ordinal);
        var result = RulesTestSupport.Rules.Map(Hl7Message.Parse(Encoding.UTF8.GetBytes(text)).Message!, "test");

        Assert.Null(result.Message);
        Assert.Contains("disagree", result.Error!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Base64_without_padding_is_tolerated()
    {
        var cda = Convert.ToBase64String(Encoding.UTF8.GetBytes("placeholder!")).TrimEnd('=');
        var mapped = MapOk(Parse($"MSH|^~\\&|RIS|ORG|PFI|ORG|202106060931||MDM^T02^MDM_T02|1|P|2.6|||||FRA|UNICODE UTF-8|||2.1^CISIS_CDA_HL7_V2\nPID|||1^^^X^PI\nORC|NW\nTXA|1|18748-4|TEXT|202212160932||||||||1.2.3.4\nOBX|1|ED|18748-4^CR^LN||^text^XML^Base64^{cda}||||||F\n"));

        var document = Assert.Single(mapped.Documents);
        Assert.Equal("placeholder!", Encoding.UTF8.GetString(document.Content!.Value.Span));
        Assert.Equal("urn:oid:1.2.3.4", document.UniqueId!.Value);
    }

    [Fact]
    public void Lab_results_are_grouped_by_obr_with_typed_values()
    {
        var mapped = MapOk(Parse("MSH|^~\\&|LAB|X|EHR|Y|20240101120000+0100||ORU^R01^ORU_R01|9|P|2.5.1\nPID|1||42^^^X^MR\nOBR|1||F1^LAB|24331-1^Lipid panel^LN|||20240101100000+0100|||||||||||||||20240101110000+0100|||F\nOBX|1|NM|2093-3^Cholesterol^LN||5.2|mmol/L^mmol/L^UCUM|3.5-5.0|H|||F\nOBX|2|SN|2085-9^HDL^LN||<^1.0|mmol/L^^UCUM||L|||F\nOBX|3|CWE|883-9^ABO^LN||A^Group A^LN||||||F\nOBX|4|ST|8251-1^Comment^LN||fasting||||||P\n"));

        var report = Assert.Single(mapped.Reports);
        Assert.Equal("final", report.Status);
        Assert.Equal(4, report.Results.Count);
        Assert.Equal(5.2m, report.Results[0].Value!.Number);
        Assert.Equal(new[] { "H" }, report.Results[0].Interpretation);
        Assert.Equal(3.5m, report.Results[0].Range!.Low);
        Assert.Equal("<", report.Results[1].Value!.Comparator);
        Assert.Equal("A", report.Results[2].Value!.Coded!.Value);
        Assert.Equal("fasting", report.Results[3].Value!.Text);
        Assert.Equal("preliminary", report.Results[3].Status);
    }

    [Fact]
    public void A40_merge_links_the_merged_identity()
    {
        var merge = Assert.Single(MapOk(Corpus("fhirconv_ADT-A40-01.hl7")).Merges);
        Assert.NotEmpty(merge.MergedIdentifiers);
    }

    [Fact]
    public void A_sender_override_layers_on_its_base_rule()
    {
        var message = Hl7Message.Parse(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, "pam-fr-sender-override.hl7"))).Message!;
        var mapped = MapOk(message);

        Assert.Equal("pam-fr-adt-clinique-exemple", mapped.Rule);
        Assert.Equal("PROV", Assert.Single(mapped.Patients).IdentityStatus);
        Assert.Equal("CHU-X", Assert.Single(mapped.Encounters).Location);
        Assert.Single(mapped.Choices);
    }

    [Fact]
    public void A_type_without_a_rule_gets_the_generic_reading_and_a_note()
    {
        var mapped = MapOk(Corpus("fhirconv_SIU-S12-01.hl7"));

        Assert.Null(mapped.Rule);
        Assert.Single(mapped.Patients);
        Assert.Contains(mapped.Notes, n => n.Text.StartsWith("no mapping rule for SIU^S12", StringComparison.Ordinal));
    }

    [Fact]
    public void The_missing_rule_note_carries_its_code_for_code_that_acts_on_it()
    {
        var mapped = MapOk(Corpus("fhirconv_SIU-S12-01.hl7"));

        var note = Assert.Single(mapped.Notes, n => n.Code == MappingNoteCode.NoMappingRule);
        Assert.StartsWith("no mapping rule for SIU^S12", note.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unused_lists_segments_and_fields_no_rule_reads()
    {
        var unused = RulesTestSupport.Rules.Unused(Corpus("french", "ans_PAMFR_consent_ConsentementConsultation_NonOppositionAlimentation.er7"));

        Assert.Contains(unused, l => l.Contains("PD1: no rule reads it", StringComparison.Ordinal));
        Assert.Contains(unused, l => l.Contains("ZFM: no rule reads it", StringComparison.Ordinal));
        Assert.DoesNotContain(unused, l => l.Contains("PID-3,", StringComparison.Ordinal));
    }

    [Fact]
    public void Msh_7_without_an_offset_is_read_in_the_rule_zone_and_never_from_the_clock()
    {
        // PAM France: Europe/Paris, summer time in July (+02:00), winter time in January (+01:00).
        const string Pid = "PID|1||12345^^^CHU-X&1.2.250.1.71.4.2.2&ISO^PI||NOM^PRENOM^^^^^L||19800101|F\n";
        const string French = "MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|{0}||ADT^A08^ADT_A01|77|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM\n" + Pid;
        Assert.Equal(new DateTimeOffset(2024, 7, 6, 11, 30, 45, TimeSpan.FromHours(2)),
            MapOk(Parse(string.Format(System.Globalization.CultureInfo.InvariantCulture, French, "20240706113045"))).Provenance!.RecordedAt);
        Assert.Equal(new DateTimeOffset(2024, 1, 6, 11, 30, 0, TimeSpan.FromHours(1)),
            MapOk(Parse(string.Format(System.Globalization.CultureInfo.InvariantCulture, French, "202401061130"))).Provenance!.RecordedAt);
        // The sender's own offset wins over the zone.
        Assert.Equal(new DateTimeOffset(2024, 7, 6, 11, 30, 45, TimeSpan.FromHours(-4)),
            MapOk(Parse(string.Format(System.Globalization.CultureInfo.InvariantCulture, French, "20240706113045-0400"))).Provenance!.RecordedAt);
        // A sender override inherits its base rule's zone.
        var overridden = MapOk(Parse("MSH|^~\\&|GAM-EXEMPLE|CLINIQUE-EXEMPLE|DPI|CHU-X|20240706113045||ADT^A08^ADT_A01|78|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM\n" + Pid));
        Assert.Equal("pam-fr-adt-clinique-exemple", overridden.Rule);
        Assert.Equal(TimeSpan.FromHours(2), overridden.Provenance!.RecordedAt!.Value.Offset);
        // Other rules (and messages no rule maps): UTC. A day without a time gives no instant.
        Assert.Equal(TimeSpan.Zero, MapOk(Parse("MSH|^~\\&|APP|FAC|||20240706113045||ADT^A08|79|P|2.5\n" + Pid)).Provenance!.RecordedAt!.Value.Offset);
        Assert.Equal(TimeSpan.Zero, MapOk(Parse("MSH|^~\\&|APP|FAC|||20240706113045||ZZZ^Z01|80|P|2.5\n" + Pid)).Provenance!.RecordedAt!.Value.Offset);
        Assert.Null(MapOk(Parse("MSH|^~\\&|APP|FAC|||20240706||ADT^A08|81|P|2.5\n" + Pid)).Provenance!.RecordedAt);
    }

    [Fact]
    public void Rds_gives_a_dispensed_medication_with_its_dispenser()
    {
        var m = MapOk(Hl7Message.Parse(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, "rds-dispense.hl7"))).Message!);
        Assert.Equal("rds-dispense", m.Rule);
        var dispense = Assert.Single(m.Medications);
        Assert.Equal(MedicationKind.Dispensed, dispense.Kind);
        Assert.Equal("00093721401", dispense.Drug!.Value);
        Assert.Equal(60m, dispense.Quantity);
        Assert.Equal("TAB", dispense.QuantityUnit);
        Assert.Equal("KOWALSKI", dispense.Dispenser!.Family);
        Assert.Equal("ORD448812", dispense.OrderId!.Value);
    }

    [Fact]
    public void Problems_and_allergy_updates_skip_deleted_entries()
    {
        var problem = Parse("MSH|^~\\&|EHR|FAC|||20240415093012||PPR^PC3|55|P|2.5\nPID|1||1^^^FAC^MR||DOE^JO\n"
            + "PRB|DE|20240415|I10^Essential hypertension^I10|9||||||||||INACTIVE\nPRB|UP|20240415|E11.9^Type 2 diabetes^I10|10|||20200101|||||||ACTIVE||20190601");
        var condition = Assert.Single(MapOk(problem).Problems);
        Assert.Equal("E11.9", condition.Code!.Value);
        Assert.Equal("active", condition.ClinicalStatus);
        Assert.Equal("problem-list-item", condition.Category);

        var allergies = MapOk(Hl7Message.Parse(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, "adt-a60-allergy.hl7"))).Message!).Allergies;
        Assert.Equal(["764146007", "256349002"], allergies.Select(a => a.Substance!.Value));
        Assert.Equal(["allergy", "intolerance"], allergies.Select(a => a.Type));
    }

    [Theory]
    [InlineData("adt.yaml", "  message: ADT", "  message: ADT\n  colour: blue", 5, "unknown key 'colour'")]
    [InlineData("partials/patient.yaml", "birthDate: PID-7", "birthDate: PID-x7", 10, "bad HL7 path 'PID-x7'")]
    [InlineData("pam-fr-adt.yaml", "table: zfa-dmp-status", "table: zfa-dmp-statut", 15, "unknown table 'zfa-dmp-statut'")]
    [InlineData("pam-fr-adt.yaml", "zone: Europe/Paris", "zone: Europe/Lutece", 9, "unknown time zone 'Europe/Lutece'")]
    [InlineData("partials/patient.yaml", "      sex: PID-8.1", "      gender: PID-8.1", 11, "patient has no field 'gender'")]
    [InlineData("oru-lab.yaml", "    each: { group: OBR", "    each: [ group: OBR", 9, "YAML")]
    [InlineData("partials/patient.yaml", "names: PID-5 ", "names: PID-5.1 ", 9, "whole field")]
    public void A_broken_rule_file_is_reported_with_file_line_and_column(string file, string find, string replace, int line, string reason)
    {
        var error = RulesTestSupport.FirstErrorAfterEdit(file, find, replace);

        Assert.Equal(file, error.File);
        Assert.Equal(line, error.Line);
        Assert.True(error.Column >= 1);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
    }
}
