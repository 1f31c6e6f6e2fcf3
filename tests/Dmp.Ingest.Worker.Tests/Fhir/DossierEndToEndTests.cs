using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Store;
using Dmp.Store.Tests;
using Microsoft.Extensions.DependencyInjection;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>
/// DESIGN.md's access table end to end: real corpus messages (PAM France ADT, CI-SIS MDM^T02 and ORU^R01) fed over
/// MLLP into a running gateway whose ACK means "applied" (AckMode=Processed), then every line of the table read back
/// through HTTP with tokens signed by the configured key. No table is seeded by SQL; SQL only looks up the ids the
/// feed produced.
/// </summary>
public sealed class DossierEndToEndTests(DossierEndToEndFixture fixture) : IClassFixture<DossierEndToEndFixture>
{
    private const string AuthorisedRpps = "10000000201";
    private const string TreatingRpps = "10000000202";
    private const string StrangerRpps = "10000000203";
    private const string MemberRpps = "10000000204";
    private const string EmergencyRpps = "10000000205";

    private FedDossier Shared => fixture.Shared;

    [Fact]
    public async Task Every_corpus_message_was_acknowledged_AA_after_its_apply_and_is_processed()
    {
        Assert.All(fixture.Acks, a => Assert.Equal("AA", a.Code));
        var rows = await fixture.Gateway.MessagesAsync();
        Assert.Equal(fixture.Acks.Count, rows.Count);
        Assert.All(rows, r => Assert.True(r.Str("status") == "processed", r.ToString()));
        Assert.DoesNotContain(rows, r => r.Warnings().Contains("control-id-reused"));
    }

    [Fact]
    public async Task The_patient_reads_their_dossier_with_the_masked_document_but_not_the_one_hidden_from_them()
    {
        using var patient = fixture.Client(DossierSeed.PatientToken(Shared.Ins));

        var (status, bundle) = await patient.FhirGetAsync(Shared.Documents);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Sorted([Shared.Lab, Shared.Masked]), Sorted(bundle.Ids()));
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirGetAsync($"/fhir/DocumentReference/{Shared.Masked}")).Status);
        Assert.Equal(Shared.MaskedCda, await ContentAsync(patient, Shared.Masked));
        var (hiddenStatus, hiddenBody) = await patient.FhirGetAsync($"/fhir/DocumentReference/{Shared.Hidden}");
        IsOutcome(hiddenBody, HttpStatusCode.NotFound, hiddenStatus);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(patient, $"/fhir/Binary/{Shared.Hidden}"));

        // What the patient reads is what the senders sent: PDSm's masterIdentifier and the visibility labels.
        var masked = bundle.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource"))
            .Single(r => r.GetProperty("id").GetString() == Id(Shared.Masked));
        Assert.Equal("urn:oid:" + CorpusFeed.RadiologyId(0, masked: true), masked.GetProperty("masterIdentifier").GetProperty("value").GetString());
        Assert.Contains(masked.GetProperty("securityLabel").EnumerateArray(), l => l.GetProperty("coding")[0].GetProperty("code").GetString() == "MASQUE_PS");
        Assert.Equal("8" + CorpusFeed.AuthorRpps, masked.GetProperty("contained")[0].GetProperty("identifier")[0].GetProperty("value").GetString());
        var (_, byIdentifier) = await patient.FhirGetAsync(Shared.Documents + "&identifier=" + Uri.EscapeDataString("urn:oid:" + CorpusFeed.RadiologyId(0, masked: true)));
        Assert.Equal([Shared.Masked], byIdentifier.Ids());
    }

    [Fact]
    public async Task A_document_from_the_organisation_the_patient_opposed_feeding_from_is_refused_by_patient_and_never_enters_the_dossier()
    {
        // The refusing patient's ADT came from CHU-X with ZFA-9 = IO; the same radiology report, sent as CHU-X for them.
        var refusing = fixture.Refusing;
        var message = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(CorpusFeed.Radiology(92, masked: false, ins: refusing.Ins))
            .Replace("|RIS-Y|Organisation-Y|", "|RIS-Y|" + CorpusFeed.ConsentingOrganisation + "|", StringComparison.Ordinal));
        Assert.Contains("|RIS-Y|CHU-X|", Encoding.Latin1.GetString(message), StringComparison.Ordinal);

        await using (var client = await fixture.Gateway.ConnectAsync())
        {
            var ack = Hl7Samples.ReadAck(await client.SendAsync(message));
            Assert.Equal(("AA", "E2E-MDM-92"), (ack.Code, ack.ControlId)); // stored and understood: the patient's choice, not an error
        }

        var row = await fixture.Gateway.SingleAsync("E2E-MDM-92");
        Assert.Equal("refused-by-patient", row.GetProperty("status").GetString());
        using var patient = fixture.Client(DossierSeed.PatientToken(refusing.Ins));
        var (status, bundle) = await patient.FhirGetAsync(refusing.Documents);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(bundle.Ids());
    }

    [Fact]
    public async Task Another_patient_gets_403_on_the_dossier_and_404_on_its_documents()
    {
        using var other = fixture.Client(DossierSeed.PatientToken(fixture.Refusing.Ins));

        var (status, body) = await other.FhirGetAsync(Shared.Documents);

        IsOutcome(body, HttpStatusCode.Forbidden, status);
        Assert.Equal(HttpStatusCode.NotFound, (await other.FhirGetAsync($"/fhir/DocumentReference/{Shared.Lab}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(other, $"/fhir/Binary/{Shared.Lab}"));
        Assert.Equal(HttpStatusCode.Forbidden, (await other.FhirGetAsync(Shared.Observations)).Status);
        // Their own dossier (an ADT only) answers, empty.
        var (own, ownBundle) = await other.FhirGetAsync(fixture.Refusing.Documents);
        Assert.Equal(HttpStatusCode.OK, own);
        Assert.Empty(ownBundle.Ids());
    }

    [Fact]
    public async Task A_professional_who_is_not_authorised_gets_403_and_404()
    {
        using var stranger = fixture.Client(DossierSeed.ProfessionalToken(StrangerRpps));
        // The organisation that sent the documents recorded no consent to consultation: its members are not authorised.
        using var sender = fixture.Client(DossierSeed.ProfessionalToken(StrangerRpps, "Organisation-Y"));

        var (status, body) = await stranger.FhirGetAsync(Shared.Documents);

        IsOutcome(body, HttpStatusCode.Forbidden, status);
        var (senderStatus, senderBody) = await sender.FhirGetAsync(Shared.Documents);
        IsOutcome(senderBody, HttpStatusCode.Forbidden, senderStatus);
        var (readStatus, readBody) = await stranger.FhirGetAsync($"/fhir/DocumentReference/{Shared.Lab}");
        IsOutcome(readBody, HttpStatusCode.NotFound, readStatus);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(stranger, $"/fhir/Binary/{Shared.Lab}"));
    }

    [Fact]
    public async Task A_member_of_the_organisation_whose_adt_recorded_consent_reads_the_dossier_without_masked_documents()
    {
        using var member = fixture.Client(DossierSeed.ProfessionalToken(MemberRpps, CorpusFeed.ConsentingOrganisation));

        var (status, bundle) = await member.FhirGetAsync(Shared.Documents);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Sorted([Shared.Hidden, Shared.Lab]), Sorted(bundle.Ids()));
        Assert.Equal(HttpStatusCode.NotFound, (await member.FhirGetAsync($"/fhir/DocumentReference/{Shared.Masked}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(member, $"/fhir/Binary/{Shared.Masked}"));
        Assert.Equal(HttpStatusCode.OK, (await member.FhirGetAsync($"/fhir/DocumentReference/{Shared.Hidden}")).Status);
        // The same organisation's ADT for another patient said INC (refuses consultation): 403 there.
        var (refusedStatus, refusedBody) = await member.FhirGetAsync(fixture.Refusing.Documents);
        IsOutcome(refusedBody, HttpStatusCode.Forbidden, refusedStatus);
    }

    [Fact]
    public async Task Binary_returns_the_exact_cda_bytes_the_mdm_carried_in_base64()
    {
        using var member = fixture.Client(DossierSeed.ProfessionalToken(MemberRpps, CorpusFeed.ConsentingOrganisation));
        var embedded = CorpusFeed.EmbeddedCda(CorpusFeed.Radiology(0, masked: false));

        using var response = await member.GetAsync($"/fhir/Binary/{Shared.Hidden}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(embedded, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(Shared.HiddenCda, embedded);
        var (_, reference) = await member.FhirGetAsync($"/fhir/DocumentReference/{Shared.Hidden}");
        var attachment = reference.GetProperty("content")[0].GetProperty("attachment");
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA1.HashData(embedded)), attachment.GetProperty("hash").GetString());
        Assert.Equal(embedded.Length, attachment.GetProperty("size").GetInt32());
    }

    [Fact]
    public async Task A_professional_authorised_by_the_patient_reads_the_dossier_without_masked_documents_except_those_they_wrote()
    {
        using var patient = fixture.Client(DossierSeed.PatientToken(Shared.Ins));
        using var authorised = fixture.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));
        using var author = fixture.Client(DossierSeed.ProfessionalToken(CorpusFeed.AuthorRpps));
        Assert.Equal(HttpStatusCode.Forbidden, (await authorised.FhirGetAsync(Shared.Documents)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await author.FhirGetAsync(Shared.Documents)).Status);

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{Shared.PatientId}/$authorize", Professional(AuthorisedRpps))).Status);
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{Shared.PatientId}/$authorize", Professional(CorpusFeed.AuthorRpps))).Status);

        var (status, bundle) = await authorised.FhirGetAsync(Shared.Documents);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Sorted([Shared.Hidden, Shared.Lab]), Sorted(bundle.Ids()));
        Assert.Equal(HttpStatusCode.NotFound, (await authorised.FhirGetAsync($"/fhir/DocumentReference/{Shared.Masked}")).Status);

        // The CDA's author (RPPS 8 + 01234564895 in assignedAuthor/id) sees the masked document they wrote.
        var (authorStatus, byAuthor) = await author.FhirGetAsync(Shared.Documents);
        Assert.Equal(HttpStatusCode.OK, authorStatus);
        Assert.Equal(Sorted([Shared.Hidden, Shared.Lab, Shared.Masked]), Sorted(byAuthor.Ids()));
        Assert.Equal(HttpStatusCode.OK, (await author.FhirGetAsync($"/fhir/DocumentReference/{Shared.Masked}")).Status);
        Assert.Equal(Shared.MaskedCda, await ContentAsync(author, Shared.Masked));
    }

    [Fact]
    public async Task The_author_named_only_in_the_cda_sees_the_masked_document_they_wrote()
    {
        // A sender that writes no PRT (CI-SIS 1.2 has none): the masked radiology MDM without its PRT segments, so the
        // document's author is known only from the CDA's assignedAuthor/id.
        var d = await fixture.FeedAsync(6);
        var masked = CorpusFeed.WithoutSegments(CorpusFeed.Radiology(7, masked: true, ins: d.Ins), "PRT");
        await fixture.SendAsync(masked);
        var withoutPrt = await fixture.DocumentIdAsync(CorpusFeed.RadiologyId(7, masked: true));
        using var patient = fixture.Client(DossierSeed.PatientToken(d.Ins));
        using var author = fixture.Client(DossierSeed.ProfessionalToken(CorpusFeed.AuthorRpps));
        using var authorised = fixture.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$authorize", Professional(CorpusFeed.AuthorRpps))).Status);
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$authorize", Professional(AuthorisedRpps))).Status);

        var (status, bundle) = await author.FhirGetAsync(d.Documents);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Sorted([d.Hidden, d.Lab, d.Masked, withoutPrt]), Sorted(bundle.Ids()));
        Assert.Equal(Sorted([d.Hidden, d.Lab]), Sorted((await authorised.FhirGetAsync(d.Documents)).Body.Ids()));
        var (_, reference) = await author.FhirGetAsync($"/fhir/DocumentReference/{withoutPrt}");
        Assert.Equal("8" + CorpusFeed.AuthorRpps, reference.GetProperty("contained")[0].GetProperty("identifier")[0].GetProperty("value").GetString());
    }

    [Fact]
    public async Task The_treating_physician_sees_every_document_including_masked_ones()
    {
        using var patient = fixture.Client(DossierSeed.PatientToken(Shared.Ins));
        using var treating = fixture.Client(DossierSeed.ProfessionalToken(TreatingRpps));
        var (named, state) = await patient.FhirPostAsync($"/fhir/Patient/{Shared.PatientId}/$authorize", Professional(TreatingRpps, treating: true));
        Assert.Equal(HttpStatusCode.OK, named);
        Assert.Contains(state.GetProperty("parameter").EnumerateArray(), p => p.GetProperty("name").GetString() == "treating-rpps");

        var (status, bundle) = await treating.FhirGetAsync(Shared.Documents);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Sorted([Shared.Hidden, Shared.Lab, Shared.Masked]), Sorted(bundle.Ids()));
        Assert.Equal(Shared.MaskedCda, await ContentAsync(treating, Shared.Masked));
    }

    [Fact]
    public async Task Emergency_access_reads_an_open_dossier_without_masked_documents_unless_the_patient_opposed_it_in_zfa_6()
    {
        using var emergency = fixture.Client(DossierSeed.ProfessionalToken(EmergencyRpps), "patient inconscient aux urgences");
        using var noReason = fixture.Client(DossierSeed.ProfessionalToken(EmergencyRpps));

        var (status, bundle) = await emergency.FhirGetAsync(Shared.Documents);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Sorted([Shared.Hidden, Shared.Lab]), Sorted(bundle.Ids()));
        Assert.Equal(HttpStatusCode.NotFound, (await emergency.FhirGetAsync($"/fhir/DocumentReference/{Shared.Masked}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await noReason.FhirGetAsync(Shared.Documents)).Status);
        // The third patient's ADT carried ZFA-6 = Y: opposition to emergency access.
        var (opposed, outcome) = await emergency.FhirGetAsync(fixture.OpposingEmergency.Documents);
        IsOutcome(outcome, HttpStatusCode.Forbidden, opposed);
        Assert.Contains("opposed emergency", outcome.GetProperty("issue")[0].GetProperty("diagnostics").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Observation_search_returns_the_lab_results_of_the_cr_bio_oru()
    {
        using var patient = fixture.Client(DossierSeed.PatientToken(Shared.Ins));

        var (status, bundle) = await patient.FhirGetAsync(Shared.Observations);

        Assert.Equal(HttpStatusCode.OK, status);
        var results = bundle.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource")).ToList();
        Assert.All(results, r => Assert.Equal("Patient/" + Id(Shared.PatientId), r.GetProperty("subject").GetProperty("reference").GetString()));
        var values = results.ToDictionary(
            r => r.GetProperty("code").GetProperty("coding")[0].GetProperty("code").GetString()!,
            r => (r.GetProperty("valueQuantity").GetProperty("value").GetDecimal(), r.GetProperty("valueQuantity").GetProperty("code").GetString()));
        Assert.Equal((1.95m, "m[IU]/L"), values["3016-3"]); // TSH
        Assert.Equal((7.67m, "pg/mL"), values["3024-7"]);   // free T4
        var (_, tsh) = await patient.FhirGetAsync(Shared.Observations + "&code=" + Uri.EscapeDataString("http://loinc.org|3016-3"));
        Assert.Single(tsh.Resources("Observation"));
        var (_, reports) = await patient.FhirGetAsync(Shared.Observations.Replace("/Observation?", "/DiagnosticReport?", StringComparison.Ordinal));
        Assert.NotEmpty(reports.Resources("DiagnosticReport"));
    }

    [Fact]
    public async Task After_the_patient_masks_a_document_authorised_professionals_and_emergency_no_longer_see_it_but_the_treating_physician_does()
    {
        var d = await fixture.FeedAsync(1);
        using var patient = fixture.Client(DossierSeed.PatientToken(d.Ins));
        using var authorised = fixture.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));
        using var treating = fixture.Client(DossierSeed.ProfessionalToken(TreatingRpps));
        using var emergency = fixture.Client(DossierSeed.ProfessionalToken(EmergencyRpps), "douleur thoracique");
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$authorize", Professional(AuthorisedRpps))).Status);
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$authorize", Professional(TreatingRpps, treating: true))).Status);
        Assert.Contains(d.Lab, (await authorised.FhirGetAsync(d.Documents)).Body.Ids());
        Assert.NotEmpty((await authorised.FhirGetAsync(d.Observations)).Body.Resources("Observation"));

        var (masked, reference) = await patient.FhirPostAsync($"/fhir/DocumentReference/{d.Lab}/$mask");
        Assert.Equal(HttpStatusCode.OK, masked);
        Assert.Contains(reference.GetProperty("securityLabel").EnumerateArray(), l => l.GetProperty("coding")[0].GetProperty("code").GetString() == "MASQUE_PS");

        Assert.Equal([d.Hidden], (await authorised.FhirGetAsync(d.Documents)).Body.Ids());
        Assert.Equal(HttpStatusCode.NotFound, (await authorised.FhirGetAsync($"/fhir/DocumentReference/{d.Lab}")).Status);
        // The results of a masked document are masked with it.
        Assert.Empty((await authorised.FhirGetAsync(d.Observations)).Body.Resources("Observation"));
        Assert.Equal([d.Hidden], (await emergency.FhirGetAsync(d.Documents)).Body.Ids());
        Assert.Equal(Sorted([d.Hidden, d.Lab, d.Masked]), Sorted((await treating.FhirGetAsync(d.Documents)).Body.Ids()));
        Assert.Equal(Sorted([d.Lab, d.Masked]), Sorted((await patient.FhirGetAsync(d.Documents)).Body.Ids()));

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/DocumentReference/{d.Lab}/$unmask")).Status);
        Assert.Equal(Sorted([d.Hidden, d.Lab]), Sorted((await authorised.FhirGetAsync(d.Documents)).Body.Ids()));
    }

    [Fact]
    public async Task A_document_hidden_from_the_patient_appears_to_them_once_a_professional_of_the_consenting_organisation_unhides_it()
    {
        var d = await fixture.FeedAsync(5);
        using var patient = fixture.Client(DossierSeed.PatientToken(d.Ins));
        using var member = fixture.Client(DossierSeed.ProfessionalToken(MemberRpps, CorpusFeed.ConsentingOrganisation));
        using var emergency = fixture.Client(DossierSeed.ProfessionalToken(EmergencyRpps), "malaise");
        Assert.DoesNotContain(d.Hidden, (await patient.FhirGetAsync(d.Documents)).Body.Ids());
        // The patient does not see it, so cannot unhide it; emergency access reads but does not unhide.
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirPostAsync($"/fhir/DocumentReference/{d.Hidden}/$unhide")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await emergency.FhirPostAsync($"/fhir/DocumentReference/{d.Hidden}/$unhide")).Status);

        var (unhidden, reference) = await member.FhirPostAsync($"/fhir/DocumentReference/{d.Hidden}/$unhide");

        Assert.Equal(HttpStatusCode.OK, unhidden);
        Assert.DoesNotContain(reference.GetProperty("securityLabel").EnumerateArray(), l => l.GetProperty("coding")[0].GetProperty("code").GetString() == "INVISIBLE_PATIENT");
        Assert.Equal(Sorted([d.Hidden, d.Lab, d.Masked]), Sorted((await patient.FhirGetAsync(d.Documents)).Body.Ids()));
        Assert.Equal(d.HiddenCda, await ContentAsync(patient, d.Hidden));
    }

    [Fact]
    public async Task A_replacement_mdm_t10_supersedes_the_original_which_leaves_the_default_search()
    {
        // CI-SIS 2.0: T02 then T10 for another corpus patient (INS-NIR 274075176079430, PID-32 VALI). Each gets a control
        // id of its own (the corpus files share `015` with the 2.1 MDM of the same sender), and the T10's TXA-13 gets the
        // dot its parent id has in the T02's TXA-12 (`…120456789A7…` in the corpus file, a typo that names no document).
        const string ins = "274075176079430";
        const string original = "1.2.250.1.71.4.2.2.120456789.A71024000081";
        const string replacement = "1.2.250.1.71.4.2.2.120456789.A71024000082";
        await fixture.SendAsync(Hl7Samples.WithControlId(CorpusFeed.Corpus("ans_TDCDA-2.0_MDM_T02_CR-Radio_INIT_N1.er7"), "E2E-T02-20"));
        var t10 = CorpusFeed.Corpus("ans_TDCDA-2.0_MDM_T10_CR-Radio_RPLC_N1.er7");
        t10 = CorpusFeed.WithField(t10, "TXA", 13, original + "^Organisation-Y");
        await fixture.SendAsync(Hl7Samples.WithControlId(t10, "E2E-T10-20"));
        var originalId = await fixture.DocumentIdAsync(original);
        var replacementId = await fixture.DocumentIdAsync(replacement);
        var search = "/fhir/DocumentReference?patient.identifier=" + Uri.EscapeDataString($"urn:oid:1.2.250.1.213.1.4.8|{ins}");
        using var patient = fixture.Client(DossierSeed.PatientToken(ins));
        using var emergency = fixture.Client(DossierSeed.ProfessionalToken(EmergencyRpps), "polytraumatisme");

        Assert.Equal([replacementId], (await patient.FhirGetAsync(search)).Body.Ids());
        var (status, current) = await emergency.FhirGetAsync(search);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([replacementId], current.Ids());
        // TXA-12 is no OID (the `A` before the serial): the masterIdentifier gives it as sent, not as a false urn:oid.
        var master = current.GetProperty("entry")[0].GetProperty("resource").GetProperty("masterIdentifier");
        Assert.False(master.TryGetProperty("system", out _));
        Assert.Equal(replacement, master.GetProperty("value").GetString());
        Assert.Equal([replacementId], (await emergency.FhirGetAsync(search + "&identifier=" + Uri.EscapeDataString(replacement))).Body.Ids());
        var relatesTo = current.GetProperty("entry")[0].GetProperty("resource").GetProperty("relatesTo")[0];
        Assert.Equal("replaces", relatesTo.GetProperty("code").GetString());
        Assert.Equal($"DocumentReference/{originalId}", relatesTo.GetProperty("target").GetProperty("reference").GetString());
        var (_, superseded) = await emergency.FhirGetAsync(search + "&status=superseded");
        Assert.Equal([originalId], superseded.Ids());
        Assert.Equal("superseded", superseded.GetProperty("entry")[0].GetProperty("resource").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_document_the_patient_deleted_is_gone_from_every_view_with_its_results()
    {
        var d = await fixture.FeedAsync(2);
        using var patient = fixture.Client(DossierSeed.PatientToken(d.Ins));
        using var treating = fixture.Client(DossierSeed.ProfessionalToken(TreatingRpps));
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$authorize", Professional(TreatingRpps, treating: true))).Status);
        // Only the patient deletes.
        using (var refused = await treating.DeleteAsync($"/fhir/DocumentReference/{d.Lab}"))
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        using (var deleted = await patient.DeleteAsync($"/fhir/DocumentReference/{d.Lab}"))
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);

        Assert.Equal([d.Masked], (await patient.FhirGetAsync(d.Documents)).Body.Ids());
        Assert.Equal(Sorted([d.Hidden, d.Masked]), Sorted((await treating.FhirGetAsync(d.Documents)).Body.Ids()));
        Assert.Equal(HttpStatusCode.NotFound, (await patient.FhirGetAsync($"/fhir/DocumentReference/{d.Lab}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await treating.FhirGetAsync($"/fhir/DocumentReference/{d.Lab}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(patient, $"/fhir/Binary/{d.Lab}"));
        Assert.Empty((await patient.FhirGetAsync(d.Observations)).Body.Resources("Observation"));
        Assert.Empty((await patient.FhirGetAsync(d.Documents + "&status=entered-in-error")).Body.Ids());
    }

    [Fact]
    public async Task A_closed_dossier_shows_nothing_to_professionals_even_in_emergency_until_the_patient_reopens_it()
    {
        var d = await fixture.FeedAsync(3);
        using var patient = fixture.Client(DossierSeed.PatientToken(d.Ins));
        using var authorised = fixture.Client(DossierSeed.ProfessionalToken(AuthorisedRpps));
        using var treating = fixture.Client(DossierSeed.ProfessionalToken(TreatingRpps));
        using var member = fixture.Client(DossierSeed.ProfessionalToken(MemberRpps, CorpusFeed.ConsentingOrganisation));
        using var emergency = fixture.Client(DossierSeed.ProfessionalToken(EmergencyRpps), "coma");
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$authorize", Professional(AuthorisedRpps))).Status);
        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$authorize", Professional(TreatingRpps, treating: true))).Status);

        var (closed, state) = await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$close");
        Assert.Equal(HttpStatusCode.OK, closed);
        Assert.Equal("closed", state.GetProperty("parameter")[0].GetProperty("valueCode").GetString());

        Assert.Equal(Sorted([d.Lab, d.Masked]), Sorted((await patient.FhirGetAsync(d.Documents)).Body.Ids()));
        using var other = fixture.Client(DossierSeed.PatientToken(fixture.Refusing.Ins));
        using var stranger = fixture.Client(DossierSeed.ProfessionalToken(StrangerRpps));
        foreach (var refused in new[] { other, stranger })
            Assert.Equal(HttpStatusCode.Forbidden, (await refused.FhirGetAsync(d.Documents)).Status);
        foreach (var professional in new[] { authorised, treating, member, emergency })
        {
            var (status, outcome) = await professional.FhirGetAsync(d.Documents);
            IsOutcome(outcome, HttpStatusCode.Forbidden, status);
            Assert.Equal(HttpStatusCode.NotFound, (await professional.FhirGetAsync($"/fhir/DocumentReference/{d.Lab}")).Status);
        }

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$reopen")).Status);
        Assert.Equal(Sorted([d.Hidden, d.Lab]), Sorted((await authorised.FhirGetAsync(d.Documents)).Body.Ids()));
        Assert.Equal(Sorted([d.Hidden, d.Lab, d.Masked]), Sorted((await treating.FhirGetAsync(d.Documents)).Body.Ids()));
        Assert.Equal(Sorted([d.Hidden, d.Lab]), Sorted((await member.FhirGetAsync(d.Documents)).Body.Ids()));
        Assert.Equal(Sorted([d.Hidden, d.Lab]), Sorted((await emergency.FhirGetAsync(d.Documents)).Body.Ids()));
    }

    [Fact]
    public async Task An_operator_reading_the_raw_message_that_fed_a_dossier_is_in_that_patients_trail()
    {
        var d = await fixture.FeedAsync(5);
        var document = (await fixture.Gateway.SingleAsync("E2E-MDM-5")).GetProperty("id").GetInt64();
        var admission = (await fixture.Gateway.SingleAsync("E2E-ADT-5")).GetProperty("id").GetInt64();
        // A message that fed no dossier (an identity that is not qualified): its read goes to the operator chain.
        await fixture.SendAsync(Hl7Samples.Adt("E2E-RAW-NO-DOSSIER"));
        var unrelated = (await fixture.Gateway.SingleAsync("E2E-RAW-NO-DOSSIER")).GetProperty("id").GetInt64();

        foreach (var id in new[] { document, admission, unrelated })
        {
            using var raw = await fixture.Gateway.Api.GetAsync($"/api/messages/{id}/raw");
            Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        }

        using var patient = fixture.Client(DossierSeed.PatientToken(d.Ins));
        var (status, trail) = await patient.FhirGetAsync("/fhir/AuditEvent?patient.identifier=" + Uri.EscapeDataString($"urn:oid:{CorpusFeed.InsOid}|{d.Ins}") + "&_count=100");
        Assert.Equal(HttpStatusCode.OK, status);
        var reads = trail.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource"))
            .Where(e => e.GetProperty("subtype")[0].GetProperty("code").GetString() == "raw-read")
            .Select(e => e.GetProperty("entity")[0].GetProperty("what").GetProperty("reference").GetString())
            .Order(StringComparer.Ordinal).ToList();
        // The MDM brought a document into this dossier and the ADT a stay: both reads are in the patient's trail.
        Assert.Equal(new[] { $"InboundMessage/{admission}", $"InboundMessage/{document}" }.Order(StringComparer.Ordinal), reads);
        using var verify = await fixture.Gateway.Api.GetAsync("/api/audit/verify");
        var body = await verify.Content.ReadAsStringAsync();
        Assert.Contains("\"intact\":true", body, StringComparison.Ordinal);
        var store = fixture.Gateway.Services.GetRequiredService<DmpStore>();
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        Assert.Equal("operator", await connection.ExecuteScalarAsync<string>(
            "SELECT chain FROM audit_event WHERE action = 'raw-read' AND entity_id = @Id;", new { Id = unrelated.ToString(CultureInfo.InvariantCulture) }));
    }

    [Fact]
    public async Task The_patients_trail_shows_the_deposits_and_the_professionals_reads_including_the_emergency_one_with_its_reason()
    {
        var d = await fixture.FeedAsync(4);
        using var patient = fixture.Client(DossierSeed.PatientToken(d.Ins));
        using var member = fixture.Client(DossierSeed.ProfessionalToken(MemberRpps, CorpusFeed.ConsentingOrganisation));
        using var emergency = fixture.Client(DossierSeed.ProfessionalToken(EmergencyRpps), Uri.EscapeDataString("arrêt cardiaque, SAMU"));
        using var stranger = fixture.Client(DossierSeed.ProfessionalToken(StrangerRpps));
        Assert.Equal(HttpStatusCode.OK, (await member.FhirGetAsync($"/fhir/DocumentReference/{d.Hidden}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await emergency.FhirGetAsync($"/fhir/DocumentReference/{d.Lab}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await stranger.FhirGetAsync(d.Documents)).Status);

        var (status, trail) = await patient.FhirGetAsync("/fhir/AuditEvent?patient.identifier=" + Uri.EscapeDataString($"urn:oid:{CorpusFeed.InsOid}|{d.Ins}") + "&_count=100");

        Assert.Equal(HttpStatusCode.OK, status);
        var events = trail.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource")).ToList();
        static string ActionOf(JsonElement e) => e.GetProperty("subtype")[0].GetProperty("code").GetString()!;
        static string? What(JsonElement e) => e.TryGetProperty("entity", out var entity) ? entity[0].GetProperty("what").GetProperty("reference").GetString() : null;
        static string? Who(JsonElement e) => e.GetProperty("agent")[0].GetProperty("who").TryGetProperty("identifier", out var id) ? id.GetProperty("value").GetString() : null;

        // The three documents entered the dossier as deposits by the gateway.
        var deposits = events.Where(e => ActionOf(e) == "deposit").ToList();
        Assert.Equal(
            new[] { d.Hidden, d.Masked, d.Lab }.Select(id => "DocumentReference/" + Id(id)).Order(StringComparer.Ordinal),
            deposits.Select(e => What(e)!).Order(StringComparer.Ordinal));
        Assert.All(deposits, e => Assert.Equal("system", e.GetProperty("agent")[0].GetProperty("type").GetProperty("coding")[0].GetProperty("code").GetString()));

        var read = Assert.Single(events, e => ActionOf(e) == "read" && What(e) == $"DocumentReference/{d.Hidden}");
        Assert.Equal("8" + MemberRpps, Who(read));
        Assert.Equal("organisation-consent", read.GetProperty("agent")[0].GetProperty("role")[0].GetProperty("text").GetString());

        var breakGlass = Assert.Single(events, e => ActionOf(e) == "read" && What(e) == $"DocumentReference/{d.Lab}");
        Assert.Equal("8" + EmergencyRpps, Who(breakGlass));
        Assert.Equal("BTG", breakGlass.GetProperty("purposeOfEvent")[0].GetProperty("coding")[0].GetProperty("code").GetString());
        Assert.Equal("arrêt cardiaque, SAMU", breakGlass.GetProperty("purposeOfEvent")[0].GetProperty("text").GetString());
        Assert.Equal("emergency", breakGlass.GetProperty("agent")[0].GetProperty("role")[0].GetProperty("text").GetString());

        var denied = Assert.Single(events, e => ActionOf(e) == "search" && Who(e) == "8" + StrangerRpps);
        Assert.Equal("4", denied.GetProperty("outcome").GetString());

        using var verify = await fixture.Gateway.Api.GetAsync("/api/audit/verify");
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        var verdict = JsonDocument.Parse(await verify.Content.ReadAsStringAsync()).RootElement;
        Assert.True(verdict.GetProperty("intact").GetBoolean(), verdict.ToString());
    }

    internal static string Professional(string rpps, bool treating = false) =>
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"rpps\",\"valueString\":\"" + rpps + "\"}" +
        (treating ? ",{\"name\":\"treating\",\"valueBoolean\":true}" : "") + "]}";

    internal static List<long> Sorted(IEnumerable<long> ids) => ids.Order().ToList();


    internal static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    internal static async Task<HttpStatusCode> StatusAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        return response.StatusCode;
    }

    /// <summary>A document's content as served at its attachment URL.</summary>
    internal static async Task<byte[]> ContentAsync(HttpClient client, long document)
    {
        using var response = await client.GetAsync($"/fhir/Binary/{document}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }
}

/// <summary>
/// The access table's core path on PostgreSQL (the scale-out store): the same corpus feed over MLLP, the patient's
/// search, a refused professional, and emergency access before and after the patient opposes it.
/// </summary>
[Trait("Tier", "Slow")]
[Collection(PostgresCollection.Name)]
public sealed class DossierEndToEndPostgresTests(PostgresServer server)
{
    [Fact]
    public async Task Corpus_feed_then_patient_search_professional_403_and_emergency_access_on_postgres()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await using var gateway = await TestGateway.StartAsync(DossierEndToEndFixture.Settings(new Dictionary<string, string?>
        {
            ["Dmp:Store:Provider"] = "Postgres",
            ["Dmp:Store:ConnectionString"] = connectionString,
        }));
        var feed = new CorpusFeeder(gateway);
        var d = await feed.FeedAsync(0);
        Assert.All(feed.Acks, a => Assert.Equal("AA", a.Code));
        Assert.All(await gateway.MessagesAsync(), r => Assert.Equal("processed", r.Str("status")));
        using var patient = feed.Client(DossierSeed.PatientToken(d.Ins));
        using var stranger = feed.Client(DossierSeed.ProfessionalToken("10000000301"));
        using var emergency = feed.Client(DossierSeed.ProfessionalToken("10000000302"), Uri.EscapeDataString("détresse respiratoire"));

        var (status, bundle) = await patient.FhirGetAsync(d.Documents);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(DossierEndToEndTests.Sorted([d.Lab, d.Masked]), DossierEndToEndTests.Sorted(bundle.Ids()));
        Assert.Equal(d.MaskedCda, await DossierEndToEndTests.ContentAsync(patient, d.Masked));
        Assert.NotEmpty((await patient.FhirGetAsync(d.Observations)).Body.Resources("Observation"));

        var (refused, outcome) = await stranger.FhirGetAsync(d.Documents);
        IsOutcome(outcome, HttpStatusCode.Forbidden, refused);

        var (emergencyStatus, seen) = await emergency.FhirGetAsync(d.Documents);
        Assert.Equal(HttpStatusCode.OK, emergencyStatus);
        Assert.Equal(DossierEndToEndTests.Sorted([d.Hidden, d.Lab]), DossierEndToEndTests.Sorted(seen.Ids()));
        Assert.Equal(d.HiddenCda, await DossierEndToEndTests.ContentAsync(emergency, d.Hidden));

        Assert.Equal(HttpStatusCode.OK, (await patient.FhirPostAsync($"/fhir/Patient/{d.PatientId}/$oppose-emergency")).Status);
        var (opposed, opposedOutcome) = await emergency.FhirGetAsync(d.Documents);
        IsOutcome(opposedOutcome, HttpStatusCode.Forbidden, opposed);

        var (_, trail) = await patient.FhirGetAsync($"/fhir/AuditEvent?patient={d.PatientId}&_count=100");
        var btg = trail.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource"))
            .Where(e => e.TryGetProperty("purposeOfEvent", out var p) && p[0].GetProperty("coding")[0].GetProperty("code").GetString() == "BTG").ToList();
        Assert.Contains(btg, e => e.GetProperty("outcome").GetString() == "0" && e.GetProperty("purposeOfEvent")[0].GetProperty("text").GetString() == "détresse respiratoire");
        Assert.Contains(btg, e => e.GetProperty("outcome").GetString() == "4");
        using var verify = await gateway.Api.GetAsync("/api/audit/verify");
        Assert.True(JsonDocument.Parse(await verify.Content.ReadAsStringAsync()).RootElement.GetProperty("intact").GetBoolean());
    }
}

/// <summary>
/// One gateway for <see cref="DossierEndToEndTests"/>, fed once with the shared dossiers: the corpus patient (ADT with
/// ZFA-11 = IC for CHU-X, the radiology MDM hidden from the patient, a masked copy, the CR-BIO ORU), a second patient whose
/// ADT refuses consultation (ZFA-11 = INC), and a third whose ADT opposes emergency access (ZFA-6 = Y). Tests that change a
/// dossier beyond adding authorisations (mask, unhide, delete, close, a second document) feed their own patient with
/// <see cref="FeedAsync"/> (a distinct INS, IPP, document ids and control ids per variant number).
/// </summary>
public sealed class DossierEndToEndFixture : IAsyncLifetime
{
    private CorpusFeeder _feeder = null!;

    internal TestGateway Gateway { get; private set; } = null!;
    internal FedDossier Shared { get; private set; } = null!;
    internal FedDossier Refusing { get; private set; } = null!;
    internal FedDossier OpposingEmergency { get; private set; } = null!;
    internal IReadOnlyList<Hl7Samples.Answer> Acks => _feeder.Acks;

    /// <summary>The gateway's settings: the ACK leaves once the message is applied, so a test reads right after it.</summary>
    internal static Dictionary<string, string?> Settings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["Dmp:Mllp:AckMode"] = "Processed" };
        foreach (var (key, value) in more ?? [])
            settings[key] = value;
        return settings;
    }

    public async Task InitializeAsync()
    {
        Gateway = await TestGateway.StartAsync(Settings());
        _feeder = new CorpusFeeder(Gateway);
        try
        {
            Shared = await _feeder.FeedAsync(0);
            Refusing = await _feeder.FeedAdmissionOnlyAsync(
                CorpusFeed.Variant(CorpusFeed.Corpus("ans_PAMFR_consent_NonConsentementConsultation_OppositionAlimentation.er7"), 90, "E2E-ADT-INC"), 90);
            OpposingEmergency = await _feeder.FeedAdmissionOnlyAsync(
                CorpusFeed.WithField(CorpusFeed.Variant(CorpusFeed.Corpus("ans_PAMFR_SGL_admission_A01.er7"), 91, "E2E-ADT-ZFA6"), "ZFA", 6, "Y"), 91);
        }
        catch
        {
            // A feed that fails leaves no gateway (and its ports and folder) behind.
            await Gateway.DisposeAsync();
            throw;
        }
    }

    internal Task<FedDossier> FeedAsync(int variant) => _feeder.FeedAsync(variant);

    internal HttpClient Client(string token, string? breakGlassReason = null) => _feeder.Client(token, breakGlassReason);

    internal Task SendAsync(byte[] message) => _feeder.SendAsync(message);

    internal Task<long> DocumentIdAsync(string uniqueId) => _feeder.ScalarAsync("SELECT id FROM document WHERE unique_id = @Value", uniqueId);

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}

/// <summary>Reading search bundles whose resources are not documents.</summary>
internal static class BundleResources
{
    /// <summary>The ids of a bundle's resources of this type (entries keep ids derived from their natural key: not numbers).</summary>
    internal static List<string> Resources(this JsonElement bundle, string resourceType) =>
        bundle.TryGetProperty("entry", out var entries)
            ? entries.EnumerateArray().Select(e => e.GetProperty("resource"))
                .Where(r => r.GetProperty("resourceType").GetString() == resourceType)
                .Select(r => r.GetProperty("id").GetString()!).ToList()
            : [];
}

/// <summary>A patient fed from the corpus, and the ids of what the feed stored for them.</summary>
internal sealed record FedDossier(string Ins, long PatientId, long Hidden, long Masked, long Lab, byte[] HiddenCda, byte[] MaskedCda)
{
    private string Identifier => Uri.EscapeDataString($"urn:oid:{CorpusFeed.InsOid}|{Ins}");
    public string Documents => "/fhir/DocumentReference?patient.identifier=" + Identifier;
    public string Observations => "/fhir/Observation?patient.identifier=" + Identifier;
}

/// <summary>Sends corpus messages (and their variants) to a gateway over MLLP and finds what they stored.</summary>
internal sealed class CorpusFeeder(TestGateway gateway)
{
    private readonly List<Hl7Samples.Answer> _acks = [];

    public IReadOnlyList<Hl7Samples.Answer> Acks => _acks;

    /// <summary>
    /// A patient's whole feed: the PAM admission (ZFA-11 = IC for CHU-X), the radiology MDM^T02 as the corpus has it
    /// (INVISIBLE_PATIENT = Y), a copy of it flagged MASQUE_PS = Y (visible to the patient), and the CR-BIO ORU^R01.
    /// </summary>
    public async Task<FedDossier> FeedAsync(int variant)
    {
        var radiology = CorpusFeed.Radiology(variant, masked: false);
        var masked = CorpusFeed.Radiology(variant, masked: true);
        await SendAsync(CorpusFeed.Admission(variant));
        await SendAsync(radiology);
        await SendAsync(masked);
        await SendAsync(CorpusFeed.LabReport(variant));

        var ins = CorpusFeed.Ins(variant);
        return new FedDossier(
            ins,
            await ScalarAsync("SELECT id FROM patient WHERE ins = @Value", ins),
            await ScalarAsync("SELECT id FROM document WHERE unique_id = @Value", CorpusFeed.RadiologyId(variant, masked: false)),
            await ScalarAsync("SELECT id FROM document WHERE unique_id = @Value", CorpusFeed.RadiologyId(variant, masked: true)),
            await ScalarAsync("SELECT id FROM document WHERE unique_id = @Value", CorpusFeed.LabId(variant)),
            CorpusFeed.EmbeddedCda(radiology),
            CorpusFeed.EmbeddedCda(masked));
    }

    /// <summary>A patient known by an ADT alone (no documents).</summary>
    public async Task<FedDossier> FeedAdmissionOnlyAsync(byte[] admission, int variant)
    {
        await SendAsync(admission);
        var ins = CorpusFeed.Ins(variant);
        return new FedDossier(ins, await ScalarAsync("SELECT id FROM patient WHERE ins = @Value", ins), 0, 0, 0, [], []);
    }

    public HttpClient Client(string token, string? breakGlassReason = null) => gateway.Client(token, breakGlassReason);

    public async Task SendAsync(byte[] message)
    {
        await using var client = await gateway.ConnectAsync();
        var ack = Hl7Samples.ReadAck(await client.SendAsync(message));
        _acks.Add(ack);
        Assert.True(ack.Code == "AA", ack.Raw);
    }

    public async Task<long> ScalarAsync(string sql, string value)
    {
        var store = gateway.Services.GetRequiredService<DmpStore>();
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        var id = await connection.ExecuteScalarAsync<long?>(sql, new { Value = value });
        Assert.True(id is not null, $"nothing stored for {value}");
        return id.Value;
    }
}

/// <summary>
/// Corpus messages as they travel over MLLP, and the few edits that derive variants from their bytes. Each edit is the
/// smallest that makes the variant say what a test needs; everything else stays the sender's.
/// </summary>
internal static class CorpusFeed
{
    /// <summary>The corpus patients' INS system: INS-NIR test (1.2.250.1.213.1.4.10).</summary>
    public const string InsOid = "1.2.250.1.213.1.4.10";
    /// <summary>The patient of the PAM, MDM and ORU corpus files (PAT-TROIS Dominique), whose identity they say is VALI.</summary>
    public const string CorpusIns = "279035121518989";
    /// <summary>MSH-4 of the PAM admission, whose ZFA-11 = IC records consent to consultation by its professionals.</summary>
    public const string ConsentingOrganisation = "CHU-X";
    /// <summary>The radiology CDA's author (assignedAuthor/id 801234564895: `8` + RPPS), as document.author_rpps stores it.</summary>
    public const string AuthorRpps = "01234564895";

    /// <summary>The radiology MDM's TXA-12 and its CDA's ClinicalDocument/id.</summary>
    private const string RadiologyRoot = "1.2.250.1.71.4.2.2.120456789.71024000081";
    /// <summary>The CR-BIO CDA's setId; its id is this + `.1`.</summary>
    private const string LabSetRoot = "1.2.250.1.213.1.1.1.55.2024.9";
    /// <summary>The CR-BIO ORU's OBX-5: the corpus file carries placeholder text ("Document medcial au format CDA niveau 1") in base64.</summary>
    private const string OruPlaceholder = "RG9jdW1lbnQgbWVkY2lhbCBhdSBmb3JtYXQgQ0RBIG5pdmVhdSAx";

    public static byte[] Corpus(string file) => Hl7Samples.Corpus("hl7v2", "french", file);

    /// <summary>Variant 0 is the corpus patient; any other is a distinct patient with its own INS.</summary>
    public static string Ins(int variant) =>
        variant == 0 ? CorpusIns : "2790351" + variant.ToString("D6", CultureInfo.InvariantCulture) + "89";

    public static string RadiologyId(int variant, bool masked) =>
        !masked && variant == 0 ? RadiologyRoot : $"{RadiologyRoot}.{(masked ? 2 : 1)}{variant.ToString(CultureInfo.InvariantCulture)}";

    public static string LabId(int variant) => LabSet(variant) + ".1";

    private static string LabSet(int variant) => variant == 0 ? LabSetRoot : $"{LabSetRoot}.{variant.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The PAM France admission (ADT^A01, ZFA-9 INO, ZFA-11 IC, PID-32 VALI).</summary>
    public static byte[] Admission(int variant)
    {
        var corpus = Corpus("ans_PAMFR_SGL_admission_A01.er7");
        return variant == 0 ? corpus : Variant(corpus, variant, $"E2E-ADT-{variant}");
    }

    /// <summary>
    /// The CI-SIS radiology MDM^T02 (its MetaDMPMSS says INVISIBLE_PATIENT = Y, MASQUE_PS = N). The masked copy flips
    /// those two flags and takes its own document id (TXA-12 and the embedded CDA's id), as a second document would.
    /// </summary>
    /// <remarks><paramref name="ins"/>: another patient's INS than the variant's (a second document of one patient).</remarks>
    public static byte[] Radiology(int variant, bool masked, string? ins = null)
    {
        var message = Corpus("ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7");
        if (!masked && variant == 0)
            return message;
        var id = RadiologyId(variant, masked);
        message = Variant(message, variant, masked ? $"E2E-MDM-MASKED-{variant}" : $"E2E-MDM-{variant}", ins);
        message = Replace(message, RadiologyRoot, id);
        message = EditCda(message, cda => cda.Replace($"root=\"{RadiologyRoot}\"", $"root=\"{id}\"", StringComparison.Ordinal));
        if (masked)
        {
            message = WithFlag(message, "MASQUE_PS", "Y");
            message = WithFlag(message, "INVISIBLE_PATIENT", "N");
        }

        return message;
    }

    /// <summary>
    /// The CI-SIS CR-BIO ORU^R01 with a real CR-BIO CDA of the same patient (the corpus TSH report) in place of the
    /// corpus file's placeholder text, so the report's results reach the dossier as entries.
    /// </summary>
    public static byte[] LabReport(int variant)
    {
        var cda = Encoding.Latin1.GetString(File.ReadAllBytes(CliRunner.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml")));
        if (variant != 0)
        {
            cda = cda.Replace($"extension=\"{CorpusIns}\"", $"extension=\"{Ins(variant)}\"", StringComparison.Ordinal)
                .Replace($"root=\"{LabSetRoot}", $"root=\"{LabSet(variant)}", StringComparison.Ordinal);
        }

        var message = Corpus("ans_TDCDA-2.1_ORU_CR-Bio_INIT_N1_N3.hl7");
        if (variant != 0)
            message = Variant(message, variant, $"E2E-ORU-{variant}");
        return Replace(message, OruPlaceholder, Convert.ToBase64String(Encoding.Latin1.GetBytes(cda)));
    }

    /// <summary>
    /// Another patient from a corpus message: its INS replaced everywhere (PID-3, and the embedded CDA's recordTarget),
    /// its CHU-X IPP made distinct (so the first patient's IPP is not claimed), and a control id of its own.
    /// </summary>
    public static byte[] Variant(byte[] message, int variant, string controlId, string? ins = null)
    {
        ins ??= Ins(variant);
        message = Replace(message, CorpusIns, ins);
        message = Replace(message, "000003^^^CHU-X", "9" + variant.ToString("D5", CultureInfo.InvariantCulture) + "^^^CHU-X", required: false);
        if (Segments(Encoding.Latin1.GetString(message)).Any(s => IsDocumentObx(s.Split('|'))))
            message = EditCda(message, cda => cda.Replace($"extension=\"{CorpusIns}\"", $"extension=\"{ins}\"", StringComparison.Ordinal));
        return Hl7Samples.WithControlId(message, controlId);
    }

    /// <summary>The CDA an MDM or ORU carries base64 in its document OBX (OBX-3 a LOINC code, type ED).</summary>
    public static byte[] EmbeddedCda(byte[] message)
    {
        foreach (var fields in Segments(Encoding.Latin1.GetString(message)).Select(s => s.Split('|')))
        {
            if (IsDocumentObx(fields))
                return Convert.FromBase64String(fields[5].Split('^')[4]);
        }

        throw new InvalidOperationException("the message has no document OBX");
    }

    /// <summary>Sets one field of the first segment with this name (e.g. ZFA-6).</summary>
    public static byte[] WithField(byte[] message, string segment, int field, string value) =>
        EditSegments(message, fields =>
        {
            if (fields[0] != segment)
                return false;
            fields[field] = value;
            return true;
        });

    /// <summary>The message without its segments of this name.</summary>
    public static byte[] WithoutSegments(byte[] message, string segment)
    {
        var segments = Segments(Encoding.Latin1.GetString(message));
        var kept = segments.Where(s => !s.StartsWith(segment + "|", StringComparison.Ordinal)).ToArray();
        Assert.NotEqual(segments.Length, kept.Length);
        return Encoding.Latin1.GetBytes(string.Join('\r', kept));
    }

    /// <summary>Sets a MetaDMPMSS flag (OBX-3.1 = the flag's name) to Y or N in OBX-5.1.</summary>
    private static byte[] WithFlag(byte[] message, string flag, string value) =>
        EditSegments(message, fields =>
        {
            if (fields[0] != "OBX" || !fields[3].StartsWith(flag + "^", StringComparison.Ordinal))
                return false;
            fields[5] = value + fields[5][fields[5].IndexOf('^', StringComparison.Ordinal)..];
            return true;
        });

    private static byte[] EditCda(byte[] message, Func<string, string> edit) =>
        EditSegments(message, fields =>
        {
            if (!IsDocumentObx(fields))
                return false;
            var components = fields[5].Split('^');
            var cda = Encoding.Latin1.GetString(Convert.FromBase64String(components[4]));
            components[4] = Convert.ToBase64String(Encoding.Latin1.GetBytes(edit(cda)));
            fields[5] = string.Join('^', components);
            return true;
        });

    private static bool IsDocumentObx(string[] fields) =>
        fields[0] == "OBX" && fields.Length > 5 && fields[2] == "ED" && fields[3].Split('^') is [_, _, "LN", ..] && fields[5].Split('^').Length > 4;

    /// <summary>Applies <paramref name="edit"/> to every segment's fields (Latin-1 keeps every byte as it was).</summary>
    private static byte[] EditSegments(byte[] message, Func<string[], bool> edit)
    {
        var segments = Segments(Encoding.Latin1.GetString(message));
        var changed = false;
        for (var i = 0; i < segments.Length; i++)
        {
            var fields = segments[i].Split('|');
            if (edit(fields))
            {
                segments[i] = string.Join('|', fields);
                changed = true;
            }
        }

        Assert.True(changed, "the edit found nothing to change");
        return Encoding.Latin1.GetBytes(string.Join('\r', segments));
    }

    private static string[] Segments(string text) => text.Split('\r');

    private static byte[] Replace(byte[] message, string from, string to, bool required = true)
    {
        var text = Encoding.Latin1.GetString(message);
        if (required)
            Assert.Contains(from, text, StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
    }
}
