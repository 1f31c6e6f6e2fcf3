using System.Text;
using Dmp.Mapping;
using Dmp.Mapping.Apply;
using Dmp.Model;
using Dmp.Model.Apply;

namespace Dmp.Mapping.Tests.Apply;

/// <summary>The apply plan a mapped message becomes, without a store: held drafts, keys, entries and admission.</summary>
public sealed class ApplyPlannerTests
{
    private static readonly DateTimeOffset Received = new(2025, 5, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Sent = new(2025, 4, 30, 10, 0, 0, TimeSpan.Zero);
    private const string InsSystem = "1.2.250.1.213.1.4.10";
    private const string DocRoot = "1.2.250.1.213.1.1.1.29";

    [Theory]
    [InlineData("ACK^A01", "ACK has no business meaning for the dossier")]
    [InlineData("QBP^Q22", "QBP has no business meaning for the dossier")]
    [InlineData("MFN", "MFN has no business meaning for the dossier")]
    [InlineData("ADT^A01", null)]
    [InlineData("ORU^R01", null)]
    [InlineData(null, null)]
    public void Message_types_without_dossier_meaning_are_ignored_before_mapping(string? type, string? detail) =>
        Assert.Equal(detail, ApplyPlanner.IgnoredType(type));

    [Fact]
    public void A_draft_holds_the_message_under_its_unique_and_set_keys_in_the_fhir_form()
    {
        var draft = Doc(new Identifier(DocRoot, "D-1"), set: new Identifier("", "1.2.3.4.5")) with { ValidatedByAuthor = false };

        var plan = ApplyPlanner.Plan([Mapped(Oru(Qualified(), draft))], Received);

        Assert.True(plan.HoldsDrafts);
        Assert.Null(plan.Apply);
        Assert.Equal(["uid:urn:oid:1.2.250.1.213.1.1.1.29|D-1", "set:urn:ietf:rfc:3986|urn:oid:1.2.3.4.5"], plan.HeldDocumentKeys.Select(k => k.Text));
        Assert.Equal("document D-1 is not validated by its author: held until its validated version arrives", plan.Detail);
    }

    [Fact]
    public void A_validated_version_releases_its_set_and_the_documents_it_replaces()
    {
        var document = Doc(new Identifier(DocRoot, "D-2"), set: new Identifier(DocRoot, "S-1")) with
        {
            Replaces = [new Identifier(DocRoot, "D-1"), new Identifier(DocRoot, "")],
        };

        var plan = ApplyPlanner.Plan([Mapped(Oru(Qualified(), document))], Received);

        Assert.False(plan.HoldsDrafts);
        Assert.Empty(plan.HeldDocumentKeys);
        Assert.Equal(["set:urn:oid:1.2.250.1.213.1.1.1.29|S-1", "uid:urn:oid:1.2.250.1.213.1.1.1.29|D-1"], plan.ValidatedDocumentKeys.Select(k => k.Text));
        var planned = Assert.Single(plan.Apply!.Documents);
        Assert.Equal("1.2.250.1.213.1.1.1.29^D-2", planned.UniqueId);
        Assert.Equal("1.2.250.1.213.1.1.1.29^S-1", planned.SetId);
        Assert.Null(planned.Body);
    }

    [Theory]
    [InlineData(DocRoot, "D-1", "1.2.250.1.213.1.1.1.29^D-1", "uid:urn:oid:1.2.250.1.213.1.1.1.29|D-1")]
    [InlineData("", "1.2.3.4", "1.2.3.4", "uid:urn:ietf:rfc:3986|urn:oid:1.2.3.4")]
    [InlineData("urn:ietf:rfc:3986", "urn:oid:1.2.3.4", "1.2.3.4", "uid:urn:ietf:rfc:3986|urn:oid:1.2.3.4")]
    public void One_document_key_gives_the_dossier_form_and_the_held_form(string system, string value, string dossier, string held)
    {
        var key = ApplyPlanner.Key(new Identifier(system, value));

        Assert.Equal(dossier, key.Dossier);
        Assert.Equal(held, key.AsUniqueId.Text);
    }

    [Fact]
    public void The_same_result_coded_by_an_hl7_name_or_an_oid_has_one_natural_key()
    {
        var fromV2 = Result(new Code("2345-7", "LN"));
        var fromCda = Result(new Code("2345-7", "2.16.840.1.113883.6.1"));
        var other = Result(new Code("2345-7", "LN")) with { Value = new ObservationValue { Number = 5.1m } };

        var plan = ApplyPlanner.PlanMessage(Mapped(Oru(Qualified()) with { Observations = [fromV2, fromCda, other] }), Received);

        Assert.Equal(3, plan.Entries.Count);
        Assert.Equal(plan.Entries[0].Key, plan.Entries[1].Key);
        Assert.NotEqual(plan.Entries[0].Key.Fingerprint, plan.Entries[2].Key.Fingerprint);
        var key = plan.Entries[0].Key;
        Assert.Equal("Observation", key.Kind);
        Assert.Equal("2345-7", key.Code);
        Assert.Equal("http://loinc.org", key.CodeSystem);
        Assert.Equal(new DateTimeOffset(2025, 4, 29, 7, 30, 0, TimeSpan.Zero), key.EffectiveAt);
        Assert.Matches("^[0-9a-f]{64}$", key.Fingerprint);
        Assert.Contains("\"resourceType\":\"Observation\"", plan.Entries[0].Resource, StringComparison.Ordinal);
        Assert.Equal(Sent, plan.Entries[0].RecordedAt);
        Assert.Null(plan.Entries[0].DocumentIndex);
    }

    [Fact]
    public void An_entry_read_from_a_document_points_at_it_and_the_event_time_falls_back_to_reception()
    {
        var document = Doc(new Identifier(DocRoot, "D-1"));
        var allergy = new Allergy { Substance = new Code("T78.4", "I10"), Provenance = new Provenance("mllp/GAM|CHU-X", "1", "ORU^R01", null, DocumentId: "D-1") };
        var message = Oru(Qualified(), document) with { Allergies = [allergy], Provenance = null };

        var plan = ApplyPlanner.PlanMessage(new ModelMessage(message, null, null), Received);

        var entry = Assert.Single(plan.Entries);
        Assert.Equal(0, entry.DocumentIndex);
        Assert.Equal("AllergyIntolerance", entry.Key.Kind);
        Assert.Equal("http://hl7.org/fhir/sid/icd-10", entry.Key.CodeSystem);
        Assert.Equal(Received, plan.EventAt);
    }

    [Fact]
    public void A_document_not_for_the_dmp_is_refused_whatever_the_store_knows()
    {
        var document = Doc(new Identifier(DocRoot, "D-9")) with { Routing = new DocumentRouting { ToDmp = false } };

        var admission = ApplyPlanner.PlanMessage(Mapped(Oru(Qualified(), document)), Received).Admission;

        Assert.True(admission.Clinical);
        Assert.Equal("1.2.250.1.213.1.1.1.29^D-9", admission.NotForDmp);
        Assert.False(admission.DependsOnOpposition(StoredIdentity.Qualified));
        Assert.Equal(AdmissionVerdict.NotForDmp, admission.Decide(StoredIdentity.Qualified, null));
    }

    [Fact]
    public void Clinical_content_is_refused_when_an_organisation_it_comes_from_is_opposed_and_held_while_the_identity_is_not_qualified()
    {
        var document = Doc(new Identifier(DocRoot, "D-1")) with
        {
            AuthorOrganisation = new Identifier(Oids.Structure, "1120459876"),
            Custodian = new Identifier(Oids.Structure, "1120459877"),
        };
        var message = Oru(Qualified(), document) with { Info = Info("ORU", "CHU-X^^") };

        var admission = ApplyPlanner.PlanMessage(Mapped(message), Received).Admission;

        Assert.Equal("CHU-X", admission.ChoicesOrganisation);
        Assert.Equal(["CHU-X", "1120459876", "1120459877"], admission.FeedingOrganisations);
        Assert.Equal(["CHU-X|000003", InsSystem + "|279035121518989"], admission.IdentityKeys.Select(k => k.Text));
        Assert.False(admission.DependsOnOpposition(StoredIdentity.Unknown));
        Assert.True(admission.DependsOnOpposition(StoredIdentity.Unqualified));
        Assert.Equal(AdmissionVerdict.Opposed, admission.Decide(StoredIdentity.Qualified, "1120459876"));
        Assert.Equal(AdmissionVerdict.Opposed, admission.Decide(StoredIdentity.Unqualified, "CHU-X"));
        Assert.Equal(AdmissionVerdict.HeldForIdentity, admission.Decide(StoredIdentity.Unqualified, null));
        Assert.Equal(AdmissionVerdict.HeldForIdentity, admission.Decide(StoredIdentity.Unknown, null));
        Assert.Equal(AdmissionVerdict.Apply, admission.Decide(StoredIdentity.Qualified, null));
    }

    [Fact]
    public void Clinical_content_without_a_patient_fails()
    {
        var message = Oru(Qualified(), Doc(new Identifier(DocRoot, "D-1"))) with { Patients = [] };

        var admission = ApplyPlanner.PlanMessage(Mapped(message), Received).Admission;

        Assert.False(admission.NamesPatient);
        Assert.Empty(admission.IdentityKeys);
        Assert.Equal(AdmissionVerdict.NoPatient, admission.Decide(StoredIdentity.Unknown, null));
    }

    [Fact]
    public void An_adts_stays_never_hold_or_refuse_it_but_are_stored_only_for_a_qualified_unopposed_patient()
    {
        var stay = new Encounter { Id = new Identifier("CHU-X", "V-1"), Class = "IMP", Provenance = new Provenance("mllp/GAM|CHU-X", "1", "ADT^A01", Sent) };
        var message = Message("ADT", Qualified()) with { Encounters = [stay] };

        var admission = ApplyPlanner.PlanMessage(Mapped(message), Received).Admission;

        Assert.True(admission.IsAdt);
        Assert.False(admission.Clinical);
        Assert.True(admission.HasEntries);
        Assert.False(admission.DependsOnOpposition(StoredIdentity.Unqualified));
        Assert.True(admission.DependsOnOpposition(StoredIdentity.Qualified));
        Assert.Equal(AdmissionVerdict.StaysNotQualified, admission.Decide(StoredIdentity.Unqualified, null));
        Assert.Equal(AdmissionVerdict.StaysOpposed, admission.Decide(StoredIdentity.Qualified, "CHU-X"));
        Assert.Equal(AdmissionVerdict.Apply, admission.Decide(StoredIdentity.Qualified, null));

        // The same stay in a clinical message is clinical content.
        Assert.True(ApplyPlanner.PlanMessage(Mapped(Message("ORU", Qualified()) with { Encounters = [stay] }), Received).Admission.Clinical);
    }

    [Fact]
    public void Bodies_attach_to_the_documents_in_order_and_the_detail_counts_what_was_mapped()
    {
        var first = Oru(Qualified(), Doc(new Identifier(DocRoot, "D-1")));
        var second = Oru(Qualified(), Doc(new Identifier(DocRoot, "D-2"))) with
        {
            Notes = [new MappingNote(NoteSeverity.Warning, "no mapping rule for ORU^R01 from mllp/GAM|CHU-X", MappingNoteCode.NoMappingRule)],
        };
        var plan = ApplyPlanner.Plan([Mapped(first), Mapped(second)], Received);
        var body = new DocumentBody("blob-2", "00", "AA==", 1, "text/xml");

        var withBodies = plan.Apply!.WithBodies([null, body]);

        Assert.Equal([null, body], withBodies.Documents.Select(d => d.Body));
        Assert.Equal(["no-mapping-rule"], plan.Warnings);
        Assert.StartsWith("mapped 2 message(s): 2 document(s), 0 entries; no mapping rule", plan.Detail, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => plan.Apply.WithBodies([body]));
    }

    private static ModelMessage Mapped(MappedMessage message) => new(message, Sent, null);

    private static Observation Result(Code code) => new()
    {
        Code = code,
        Value = new ObservationValue { Number = 4.80m },
        Unit = new Code("mmol/L", "UCUM"),
        EffectiveAt = new PartialDateTime(new DateTime(2025, 4, 29, 9, 30, 0), DateTimePrecision.Minute, TimeSpan.FromHours(2)),
        Provenance = new Provenance("mllp/GAM|CHU-X", "1", "ORU^R01", Sent),
    };

    private static Patient Qualified() => new()
    {
        Ins = new Identifier(InsSystem, "279035121518989"),
        IdentityStatus = "VALI",
        LocalIdentifiers = [new Identifier("CHU-X", "000003")],
    };

    private static Document Doc(Identifier uid, Identifier? set = null) => new()
    {
        UniqueId = uid,
        SetId = set,
        MimeType = "text/xml",
        Content = Encoding.UTF8.GetBytes("<ClinicalDocument/>"),
        ValidatedByAuthor = true,
        Provenance = new Provenance("mllp/GAM|CHU-X", "1", "ORU^R01", Sent),
    };

    private static MappedMessage Oru(Patient patient, Document? document = null) =>
        Message("ORU", patient) with { Documents = document is null ? [] : [document] };

    private static MappedMessage Message(string type, Patient patient) => new()
    {
        Info = Info(type, "CHU-X"),
        Patients = [patient],
        Provenance = new Provenance("mllp/GAM|CHU-X", "1", type, Sent),
    };

    private static MessageInfo Info(string type, string facility) =>
        new() { Sender = "mllp/GAM|CHU-X", SendingApplication = "GAM", SendingFacility = facility, MessageType = type };
}
