using System.Text;
using Dmp.Mapping.Cda;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Mapping.Tests.Rules;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Tests.Fhir;

public sealed class ProjectionTests
{
    [Fact]
    public void The_projection_terminology_is_the_rules_coding_systems_table()
    {
        var table = RulesTestSupport.Rules.Tables["coding-systems"];

        Assert.Equal(table.Count, CodeSystems.Entries.Count);
        foreach (var (name, uri) in CodeSystems.Entries)
            Assert.Equal(uri, table.Lookup(name));
    }

    [Theory]
    [InlineData("LN", "http://loinc.org")]
    [InlineData("2.16.840.1.113883.6.96", "http://snomed.info/sct")]
    [InlineData("http://example.org/cs", "http://example.org/cs")]
    [InlineData("1.2.250.1.213.1.1.4.1", "urn:oid:1.2.250.1.213.1.1.4.1")]
    [InlineData("HL70203", "http://terminology.hl7.org/CodeSystem/v2-0203")]
    [InlineData("LOCAL", null)]
    [InlineData("", null)]
    public void A_coding_system_is_the_table_s_uri_else_a_uri_an_oid_or_an_hl7_table(string system, string? uri)
    {
        Assert.Equal(uri, CodeSystems.Uri(system));
    }

    [Fact]
    public void A_missing_rule_is_not_supported_by_its_code_not_by_its_wording()
    {
        var byCode = NoteIssues.Issue(new MappingNote(NoteSeverity.Information, "any wording", MappingNoteCode.NoMappingRule));
        var byText = NoteIssues.Issue(new MappingNote(NoteSeverity.Information, "no mapping rule for X^Y"));

        Assert.Equal(F.OperationOutcome.IssueType.NotSupported, byCode.Code);
        Assert.Equal(F.OperationOutcome.IssueType.Informational, byText.Code);
    }

    [Fact]
    public void A_stored_document_names_its_author_by_rpps_and_carries_the_dmp_visibility_labels()
    {
        var reference = DocumentReferenceProjection.FromStored(new StoredDocument
        {
            Id = "7",
            PatientId = "3",
            UniqueId = "1.2.250.1.213.1.1.9^DOC-1",
            AuthorRpps = "10001234567",
            AuthorOrganisation = "120456789",
            Masked = true,
            HiddenFromPatient = true,
            ContentUrl = "DocumentReference/7/$content",
        });

        var author = Assert.IsType<F.Practitioner>(Assert.Single(reference.Contained));
        var rpps = Assert.Single(author.Identifier);
        Assert.Equal(("urn:oid:" + Rpps.Oid, "810001234567"), (rpps.System, rpps.Value));
        Assert.Equal("urn:oid:" + Oids.Structure, reference.Custodian!.Identifier!.System);
        Assert.Equal(("urn:oid:1.2.250.1.213.1.1.9", "DOC-1"), (reference.MasterIdentifier!.System, reference.MasterIdentifier.Value));
        Assert.Equal(
            [(DmpFhir.VisibilitySystem, VisibilityCodes.MaskedToProfessionals, "Masqué aux professionnels de santé"),
             (DmpFhir.VisibilitySystem, VisibilityCodes.HiddenFromPatient, "Non visible par le patient")],
            reference.SecurityLabel.Select(l => (l.Coding[0].System, l.Coding[0].Code, l.Coding[0].Display)));
    }

    [Fact]
    public void A_message_document_and_a_stored_one_write_visibility_the_same_way()
    {
        var document = new Document
        {
            Visibility = new DocumentVisibility { MaskedToProfessionals = true },
            Provenance = new Provenance("test", "1", "ORU", null),
        };

        var fromMessage = DocumentReferenceProjection.ToFhir(document, "m", null);
        var fromStore = DocumentReferenceProjection.FromStored(new StoredDocument { Id = "s", PatientId = "1", UniqueId = "1.2.3", Masked = true, ContentUrl = "x" });

        Assert.Equal(
            fromMessage.SecurityLabel.Select(l => (l.Coding[0].System, l.Coding[0].Code, l.Coding[0].Display)),
            fromStore.SecurityLabel.Select(l => (l.Coding[0].System, l.Coding[0].Code, l.Coding[0].Display)));
    }

    [Fact]
    public void A_stored_patient_and_a_mapped_one_share_gender_names_and_ins()
    {
        var patient = new Patient
        {
            Ins = new Identifier(Oids.InsNir, "279035121518989"),
            Names = [new PersonName("MARTIN", ["Anne", "Marie"], null, null, "L"), new PersonName("DURAND", [], null, null, "M")],
            BirthDate = Dmp.Mapping.Fhir.FhirDates.ParseDate("1979-03"),
            Sex = "F",
        };

        var resource = PatientProjection.ToFhir(patient, "p");

        Assert.Equal(F.AdministrativeGender.Female, resource.Gender);
        Assert.Equal("1979-03", resource.BirthDate);
        Assert.Equal([F.HumanName.NameUse.Official, F.HumanName.NameUse.Maiden], resource.Name.Select(n => n.Use!.Value));
        Assert.Equal(("urn:oid:" + Oids.InsNir, "279035121518989"), (resource.Identifier[0].System, resource.Identifier[0].Value));
    }

    [Theory]
    [InlineData("<?xml version=\"1.0\"?>\n<!DOCTYPE ClinicalDocument SYSTEM \"http://example.org/cda.dtd\">\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>", true)]
    [InlineData("<!DOCTYPE x [<!ENTITY e \"e\">]><x><y>&e;</y></x>", true)]
    [InlineData("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id/></ClinicalDocument>", false)]
    [InlineData("<x><y></x>", false)]
    [InlineData("not xml at all", false)]
    public void A_dtd_is_known_by_how_the_reader_reads_the_input(string xml, bool declaresDtd)
    {
        var bytes = Encoding.UTF8.GetBytes(xml);

        Assert.Equal(declaresDtd, SafeXml.DeclaresDocumentType(bytes));
        Assert.Equal(declaresDtd, SafeXml.ReadRoot(bytes).HasDocumentType);
    }

    [Fact]
    public void The_root_is_read_without_reading_the_rest()
    {
        var root = SafeXml.ReadRoot(Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><!-- c --><ClinicalDocument xmlns=\"urn:hl7-org:v3\"><broken></ClinicalDocument>"));

        Assert.Equal(("ClinicalDocument", "urn:hl7-org:v3", false, null), (root.LocalName, root.Namespace, root.HasDocumentType, root.Error));
    }
}
