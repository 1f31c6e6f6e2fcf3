using System.Text;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Rules;
using Dmp.Mapping.Tests.Rules;
using Hl7.Fhir.Model;

namespace Dmp.Mapping.Tests.Cda;

/// <summary>CDA R2 documents through the shipped rules (`mappings/cda/`): header, body entries, content, validation.</summary>
public sealed class CdaMappingTests
{
    public static TheoryData<string> CorpusFiles() =>
        new(Directory.EnumerateFiles(RulesTestSupport.TestData("cda"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RulesTestSupport.TestData("cda"), f))
            .Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Every_corpus_document_maps_to_a_strict_bundle_whose_entries_reference_the_patient(string relative)
    {
        var input = File.ReadAllBytes(RulesTestSupport.TestData("cda", relative));

        var result = InboundMapper.Map(input, "file", RulesTestSupport.Rules);

        Assert.True(result.Error is null, result.Error?.Format(relative));
        var json = FhirJson.Serialize(result.Bundle!);
        var bundle = FhirJson.DeserializeStrict<Bundle>(json);
        var document = Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>());
        Assert.NotNull(document.Type);
        Assert.NotNull(document.MasterIdentifier);
        Assert.NotNull(document.DocStatus);
        Assert.Single(document.Content);
        var fullUrls = bundle.Entry.Select(e => e.FullUrl).ToList();
        Assert.Equal(fullUrls.Count, fullUrls.Distinct(StringComparer.Ordinal).Count());
        foreach (var reference in bundle.Entry.SelectMany(e => Descendants(e.Resource!)).OfType<ResourceReference>())
        {
            if (reference.Reference is { } target)
                Assert.Contains(target, fullUrls);
        }
        var patient = bundle.Entry.FirstOrDefault(e => e.Resource is Patient)?.FullUrl;
        foreach (var resource in bundle.Entry.Select(e => e.Resource))
        {
            var subject = resource switch
            {
                Observation o => o.Subject,
                Condition c => c.Subject,
                AllergyIntolerance a => a.Patient,
                MedicationStatement m => m.Subject,
                MedicationRequest m => m.Subject,
                Immunization i => i.Patient,
                Procedure p => p.Subject,
                Encounter e => e.Subject,
                DiagnosticReport r => r.Subject,
                _ => null,
            };
            if (resource is Observation or Condition or AllergyIntolerance or MedicationStatement or MedicationRequest or Immunization or Procedure or Encounter or DiagnosticReport)
                Assert.Equal(patient, subject?.Reference);
        }
        // Deterministic: the same bytes give the same Bundle.
        Assert.Equal(json, FhirJson.Serialize(InboundMapper.Map(input, "file", RulesTestSupport.Rules).Bundle!));
    }

    [Fact]
    public void A_legally_authenticated_discharge_summary_is_validated_and_one_without_is_held()
    {
        var input = File.ReadAllBytes(RulesTestSupport.TestData("cda", "french", "ans-cisis_LDL-SES_2022.01.xml"));
        var (mapped, error) = CdaMapper.Read(input, "file", RulesTestSupport.Rules);
        Assert.Null(error);
        Assert.Equal("cisis-ldl-ses", mapped!.Message.Rule);
        var document = Assert.Single(mapped.Message.Documents);
        Assert.True(document.IsValidated);
        Assert.Equal("801234567897", document.LegalAuthenticator?.Id?.Value);
        Assert.Equal(CompositionStatus.Final, DocumentOf(input).DocStatus);

        var unvalidated = Encoding.UTF8.GetBytes(RemoveElement(Encoding.UTF8.GetString(input), "legalAuthenticator"));
        var (held, _) = CdaMapper.Read(unvalidated, "file", RulesTestSupport.Rules);
        Assert.False(held!.Message.Documents[0].IsValidated);
        Assert.Equal(false, held.Message.Documents[0].ValidatedByAuthor);
        var reference = DocumentOf(unvalidated);
        Assert.Equal(CompositionStatus.Preliminary, reference.DocStatus);
        Assert.Null(reference.Authenticator);
    }

    [Fact]
    public void The_ldl_ses_header_gives_author_custodian_service_period_and_stay()
    {
        var bundle = Map(File.ReadAllBytes(RulesTestSupport.TestData("cda", "french", "ans-cisis_LDL-SES_2022.01.xml")));
        var document = bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>().Single();

        Assert.Contains(document.Author, a => a.Identifier?.System == "urn:oid:1.2.250.1.71.4.2.1");
        Assert.Equal("urn:oid:1.2.250.1.71.4.2.2", document.Custodian!.Identifier!.System);
        Assert.Equal("10", document.Category.Single().Coding[0].Code);
        Assert.NotNull(document.Context!.Period!.Start);
        var encounter = Assert.Single(document.Context.Encounter);
        Assert.Contains(encounter.Reference!, bundle.Entry.Where(e => e.Resource is Encounter).Select(e => e.FullUrl));
        Assert.NotEmpty(bundle.Entry.Select(e => e.Resource).OfType<MedicationStatement>());
        Assert.Contains(bundle.Entry.Select(e => e.Resource).OfType<AllergyIntolerance>(), a => a.Category.Contains(AllergyIntolerance.AllergyIntoleranceCategory.Medication));
        Assert.Contains(bundle.Entry.Select(e => e.Resource).OfType<Observation>(), o => o.Code.Coding[0].Code == "ORG-070" && o.Value is CodeableConcept);
    }

    [Fact]
    public void A_cr_bio_gives_a_diagnostic_report_with_coded_quantified_results()
    {
        var bundle = Map(File.ReadAllBytes(RulesTestSupport.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml")));

        var report = Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<DiagnosticReport>());
        Assert.Equal(2, report.Result.Count);
        var tsh = bundle.Entry.Select(e => e.Resource).OfType<Observation>().Single(o => o.Code.Coding[0].Code == "3016-3");
        Assert.Equal("http://loinc.org", tsh.Code.Coding[0].System);
        var quantity = Assert.IsType<Quantity>(tsh.Value);
        Assert.Equal(1.95m, quantity.Value);
        Assert.Equal("m[IU]/L", quantity.Code);
        Assert.Equal(0.27m, tsh.ReferenceRange[0].Low!.Value);
        Assert.Equal(4.2m, tsh.ReferenceRange[0].High!.Value);
        Assert.Equal("N", tsh.Interpretation[0].Coding[0].Code);
        Assert.Equal("laboratory", tsh.Category[0].Coding[0].Code);
    }

    [Fact]
    public void A_level_1_cr_img_carries_its_pdf_as_the_content()
    {
        var bundle = Map(File.ReadAllBytes(RulesTestSupport.TestData("cda", "french", "ans-cisis_IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml")));

        var attachment = bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>().Single().Content[0].Attachment;
        Assert.Equal("application/pdf", attachment.ContentType);
        Assert.NotNull(attachment.Data);
        Assert.StartsWith("%PDF", Encoding.ASCII.GetString(attachment.Data!, 0, 4), StringComparison.Ordinal);
        Assert.Equal(attachment.Data!.Length, ((UnsignedInt)attachment.SizeElement!).Value);
        Assert.Equal(System.Security.Cryptography.SHA1.HashData(attachment.Data), attachment.Hash);
    }

    [Fact]
    public void A_vaccination_note_gives_immunizations_with_lot_numbers()
    {
        var bundle = Map(File.ReadAllBytes(RulesTestSupport.TestData("cda", "french", "ans-cisis_VAC_2023.01.xml")));

        var immunizations = bundle.Entry.Select(e => e.Resource).OfType<Immunization>().ToList();
        Assert.Equal(4, immunizations.Count);
        Assert.All(immunizations, i => Assert.NotNull(i.VaccineCode.Coding.FirstOrDefault()?.Code));
        Assert.Contains(immunizations, i => i.LotNumber is not null);
    }

    [Fact]
    public void Related_documents_and_dates_without_a_zone_map_as_fhir_allows()
    {
        const string xml = """
            <ClinicalDocument xmlns="urn:hl7-org:v3">
              <id root="1.2.3.4" extension="DOC-2"/>
              <code code="11490-0" codeSystem="2.16.840.1.113883.6.1"/>
              <effectiveTime value="20240102103000"/>
              <relatedDocument typeCode="RPLC"><parentDocument><id root="1.2.3.4" extension="DOC-1"/></parentDocument></relatedDocument>
              <relatedDocument typeCode="APND"><parentDocument><id root="1.2.3.4" extension="DOC-0"/></parentDocument></relatedDocument>
              <relatedDocument typeCode="XFRM"><parentDocument><id root="1.2.3.4" extension="DOC-X"/></parentDocument></relatedDocument>
              <documentationOf><serviceEvent><effectiveTime><low value="20240101"/><high value="20240102083000+0100"/></effectiveTime></serviceEvent></documentationOf>
            </ClinicalDocument>
            """;
        var document = DocumentOf(Encoding.UTF8.GetBytes(xml));

        Assert.Equal("2024-01-02", document.Content[0].Attachment.Creation);
        Assert.Equal("2024-01-01", document.Context!.Period!.Start);
        Assert.Equal("2024-01-02T08:30:00+01:00", document.Context.Period.End);
        Assert.Equal(
            [DocumentRelationshipType.Replaces, DocumentRelationshipType.Appends, DocumentRelationshipType.Transforms],
            document.RelatesTo.Select(r => r.Code!.Value).ToArray());
        Assert.Equal("DOC-0", document.RelatesTo[1].Target!.Identifier!.Value);
        Assert.Equal(CompositionStatus.Preliminary, document.DocStatus);
    }

    [Fact]
    public void A_document_with_missing_pieces_still_maps()
    {
        const string xml = """
            <ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
              <id root="1.2.3.4" extension="BARE"/>
              <code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
              <author><assignedAuthor/></author>
              <legalAuthenticator/>
              <component><structuredBody>
                <component><section><code code="30954-2"/>
                  <entry><observation moodCode="EVN"><value xsi:type="PQ" value="not-a-number" unit="mg"/></observation></entry>
                  <entry><organizer/></entry>
                </section></component>
                <component><section><code code="48765-2"/><entry><act/></entry></section></component>
              </structuredBody></component>
            </ClinicalDocument>
            """;
        var result = InboundMapper.Map(Encoding.UTF8.GetBytes(xml), "file", RulesTestSupport.Rules);

        Assert.Null(result.Error);
        var bundle = FhirJson.DeserializeStrict<Bundle>(FhirJson.Serialize(result.Bundle!));
        var document = bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>().Single();
        Assert.Equal(CompositionStatus.Final, document.DocStatus);
        Assert.Null(document.Subject);
        // No recordTarget: entries are not written, and the outcome says so.
        Assert.DoesNotContain(bundle.Entry, e => e.Resource is Observation);
        Assert.Contains(bundle.Entry.Select(e => e.Resource).OfType<OperationOutcome>().Single().Issue, i => i.Diagnostics!.Contains("without a patient", StringComparison.Ordinal));
    }

    [Fact]
    public void An_external_entity_is_refused_and_nothing_is_read_from_disk()
    {
        var secret = Path.Combine(Path.GetTempPath(), $"dmp-xxe-{Guid.NewGuid():N}.txt");
        File.WriteAllText(secret, "SECRET-MARKER-42");
        try
        {
            var xml = $"""
                <?xml version="1.0"?>
                <!DOCTYPE ClinicalDocument [ <!ENTITY xxe SYSTEM "{new Uri(secret).AbsoluteUri}"> ]>
                <ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2.3" extension="&xxe;"/><code code="11490-0"/></ClinicalDocument>
                """;
            var result = InboundMapper.Map(Encoding.UTF8.GetBytes(xml), "file", RulesTestSupport.Rules);

            Assert.Null(result.Bundle);
            Assert.True(result.Error!.Line >= 1 && result.Error.Column >= 1);
            Assert.Contains("DOCTYPE", result.Error.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain("SECRET-MARKER", result.Error.Format("x.xml"), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public void Entity_expansion_is_refused()
    {
        var input = File.ReadAllBytes(RulesTestSupport.TestData("malformed", "billion-laughs.xml"));

        var result = InboundMapper.Map(input, "file", RulesTestSupport.Rules);

        Assert.Null(result.Bundle);
        Assert.Matches(@"^x\.xml:\d+:\d+: ", result.Error!.Format("x.xml"));
    }

    [Theory]
    [InlineData("french/ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml", "cisis-cr-bio")]
    [InlineData("french/ans-cisis_LDL-SES_2022.01.xml", "cisis-ldl-ses")]
    [InlineData("french/ans-cisis_IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml", "cisis-cr-img")]
    [InlineData("french/ans-cisis_VAC_2023.01.xml", "cisis-vac")]
    [InlineData("french/ans-cisis_VSM_1.4_2022.01.xml", "cisis")]
    [InlineData("hl7ccda_Discharge_Summary.xml", "ccda")]
    [InlineData("hl7ccda_CCD2_CCD.xml", "cda-default")]
    public void Documents_select_their_rule_by_code_and_template(string relative, string rule)
    {
        var (mapped, error) = CdaMapper.Read(File.ReadAllBytes(RulesTestSupport.TestData("cda", relative)), "file", RulesTestSupport.Rules);

        Assert.Null(error);
        Assert.Equal(rule, mapped!.Message.Rule);
    }

    [Theory]
    [InlineData("cda/cisis-vac.yaml", "entries: immunizations", "entries: vaccines", "entries: is one of")]
    [InlineData("cda/cisis-vac.yaml", "class-codes: cda-class-codes", "class-codes: no-such-table", "unknown table 'no-such-table'")]
    [InlineData("cda/ccda.yaml", "include: [cda/sections/c-cda.yaml", "include: [cda/sections/nope.yaml", "no `cda-sections:` file")]
    [InlineData("cda/cisis-vac.yaml", "when:", "whenever:", "unknown key")]
    public void A_broken_cda_rule_is_reported_with_its_file_and_position(string file, string find, string replace, string reason)
    {
        var error = RulesTestSupport.FirstErrorAfterEdit(file, find, replace);

        Assert.Equal(file, error.File);
        Assert.True(error.Line >= 1 && error.Column >= 1);
        Assert.Contains(reason, error.Reason, StringComparison.Ordinal);
    }

    private static Bundle Map(byte[] input)
    {
        var result = InboundMapper.Map(input, "file", RulesTestSupport.Rules);
        Assert.True(result.Error is null, result.Error?.Format("input"));
        return FhirJson.DeserializeStrict<Bundle>(FhirJson.Serialize(result.Bundle!));
    }

    private static DocumentReference DocumentOf(byte[] input) =>
        Map(input).Entry.Select(e => e.Resource).OfType<DocumentReference>().Single();

    private static string RemoveElement(string xml, string name)
    {
        var start = xml.IndexOf("<" + name, StringComparison.Ordinal);
        var end = xml.IndexOf("</" + name + ">", start, StringComparison.Ordinal) + name.Length + 3;
        return xml[..start] + xml[end..];
    }

    private static IEnumerable<Base> Descendants(Base node) =>
        new[] { node }.Concat(node.EnumerateElements().SelectMany(e => e.Value switch
        {
            Base single => Descendants(single),
            IEnumerable<Base> many => many.SelectMany(Descendants),
            _ => [],
        }));
}
