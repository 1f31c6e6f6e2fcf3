using Dapper;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Sftp;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Ingest.Worker.Tests.Sftp;
using Dmp.Store;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Pipeline;

/// <summary>
/// Real corpus messages through the running gateway into the dossier: a PAM France admission with a qualified INS,
/// then a CI-SIS MDM^T02 carrying a radiology CDA over MLLP, then the same CDA as a file from a drop folder, and a
/// lab report CDA whose body gives entries. ACKs wait for the apply (AckMode=Processed).
/// </summary>
public sealed class DossierFeedTests
{
    private const string Ins = "279035121518989";
    private const string RadiologyId = "1.2.250.1.71.4.2.2.120456789.71024000081";

    [Fact]
    public async Task Corpus_messages_and_files_feed_one_patient_one_document_with_two_sources_and_lab_entries()
    {
        var folder = Directory.CreateTempSubdirectory("dmp-feed-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder, "cda-drop", new Dictionary<string, string?> { ["Dmp:Mllp:AckMode"] = "Processed" });
            var store = gateway.Services.GetRequiredService<StoreLifetime>().Store;

            await using (var client = await gateway.ConnectAsync())
            {
                var admission = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7")));
                Assert.Equal("AA", admission.Code);
                // Processed mode: the ACK left after the apply committed.
                Assert.Equal(1L, await ScalarAsync(store, $"SELECT COUNT(*) FROM patient WHERE ins = '{Ins}'"));

                var mdm = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7")));
                Assert.Equal("AA", mdm.Code);
                Assert.Equal(1L, await ScalarAsync(store, $"SELECT COUNT(*) FROM document WHERE unique_id = '{RadiologyId}'"));
            }

            var rows = await gateway.MessagesAsync();
            Assert.All(rows, r => Assert.Equal("processed", r.Str("status")));

            var patient = await SingleAsync<(long Id, string InsSystem, string Status, string Family, string BirthDate, string Sex)>(store,
                $"SELECT id, ins_system, identity_status, family, birth_date, sex FROM patient WHERE ins = '{Ins}'");
            Assert.Equal(("1.2.250.1.213.1.4.10", "VALI", "PAT-TROIS", "1979-03-28", "F"), (patient.InsSystem, patient.Status, patient.Family, patient.BirthDate, patient.Sex));
            Assert.Equal(patient.Id, await ScalarAsync(store, "SELECT patient_id FROM patient_identifier WHERE system = 'CHU-X' AND value = '000003'"));
            Assert.Equal("open", await TextAsync(store, $"SELECT status FROM dossier WHERE patient_id = {patient.Id}"));
            // ZFA: INO (no opposition), IC (consents to consultation), recorded under MSH-4.
            Assert.Equal((0L, 1L), await SingleAsync<(long, long)>(store,
                $"SELECT CASE WHEN opposes_feeding THEN 1 ELSE 0 END, CASE WHEN consents_consultation THEN 1 ELSE 0 END FROM dossier_facility_choice WHERE patient_id = {patient.Id} AND organisation = 'CHU-X'"));

            var document = await SingleAsync<(long Id, long PatientId, string Status, string TypeCode, string Mime, string BlobKey, string Sha256, string Sha1, long Size, long Hidden, long Masked)>(store,
                $"""
                SELECT id, patient_id, status, type_code, mime_type, blob_key, sha256, sha1, size,
                       CASE WHEN hidden_from_patient THEN 1 ELSE 0 END, CASE WHEN masked THEN 1 ELSE 0 END
                FROM document WHERE unique_id = '{RadiologyId}'
                """);
            Assert.Equal((patient.Id, "current", "18748-4", "text/xml", 1L, 0L), (document.PatientId, document.Status, document.TypeCode, document.Mime, document.Hidden, document.Masked));
            var body = await store.Blobs.GetAsync(document.BlobKey, CancellationToken.None);
            Assert.NotNull(body);
            Assert.Equal((document.Sha256, document.Size), (document.BlobKey, (long)body.Length));
            Assert.Contains("<ClinicalDocument", System.Text.Encoding.UTF8.GetString(body), StringComparison.Ordinal);
            Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA1.HashData(body)), document.Sha1);
            Assert.Equal(1L, await ScalarAsync(store, $"SELECT COUNT(*) FROM audit_event WHERE action = 'deposit' AND entity_id = '{document.Id}'"));

            // The same document as a CDA file: one document, a second source.
            var poller = gateway.Services.GetRequiredService<FilePoller>();
            File.Copy(CliRunner.TestData("cda", "french", "ans_TDCDA-2.1-vague2_CR_Radio_CDAN1_v1.XML"), Path.Combine(folder.FullName, "cr-radio.xml"));
            await TakeAsync(poller, gateway, "cr-radio.xml");
            Assert.Equal(1L, await ScalarAsync(store, $"SELECT COUNT(*) FROM document WHERE unique_id = '{RadiologyId}'"));
            Assert.Equal(["cda-drop", "mllp/RIS-Y|Organisation-Y"],
                (await QueryAsync<string>(store, $"SELECT sender FROM document_source WHERE document_id = {document.Id} ORDER BY sender")).ToArray());

            // A lab report CDA for the same patient: its body's results become entries of that patient.
            File.Copy(CliRunner.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml"), Path.Combine(folder.FullName, "cr-bio.xml"));
            await TakeAsync(poller, gateway, "cr-bio.xml");
            Assert.Equal(2L, await ScalarAsync(store, $"SELECT COUNT(*) FROM document WHERE patient_id = {patient.Id}"));
            var kinds = (await QueryAsync<string>(store, $"SELECT DISTINCT kind FROM entry WHERE patient_id = {patient.Id} ORDER BY kind")).ToList();
            Assert.Contains("Observation", kinds);
            Assert.Contains("DiagnosticReport", kinds);
            var observation = await SingleAsync<(string CodeSystem, string Resource, long? DocumentId)>(store,
                $"SELECT code_system, resource, document_id FROM entry WHERE patient_id = {patient.Id} AND kind = 'Observation' ORDER BY id LIMIT 1");
            Assert.Equal("http://loinc.org", observation.CodeSystem);
            Assert.StartsWith("{\"resourceType\":\"Observation\"", observation.Resource, StringComparison.Ordinal);
            Assert.DoesNotContain("\"subject\"", observation.Resource, StringComparison.Ordinal);
            Assert.NotNull(observation.DocumentId);

            // The same file again under another name: nothing new but a source.
            var entries = await ScalarAsync(store, "SELECT COUNT(*) FROM entry");
            File.Copy(CliRunner.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml"), Path.Combine(folder.FullName, "cr-bio-again.xml"));
            await TakeAsync(poller, gateway, "cr-bio-again.xml");
            Assert.Equal(entries, await ScalarAsync(store, "SELECT COUNT(*) FROM entry"));
            Assert.Equal(2L, await ScalarAsync(store, $"SELECT COUNT(*) FROM document WHERE patient_id = {patient.Id}"));
            var verification = await store.Audit.VerifyAsync(CancellationToken.None);
            Assert.True(verification.Intact, string.Join("; ", verification.Breaks));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_document_for_an_unqualified_identity_is_held_and_acknowledged_AA_then_released_by_the_qualifying_adt()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:AckMode"] = "Processed" });
        var store = gateway.Services.GetRequiredService<StoreLifetime>().Store;
        await using var client = await gateway.ConnectAsync();

        // The radiology MDM with its identity only provisional (PID-32 PROV instead of VALI): its INS does not qualify it.
        var corpus = Hl7Samples.Corpus("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7");
        var provisional = System.Text.Encoding.Latin1.GetBytes(System.Text.Encoding.Latin1.GetString(corpus).Replace("|N|VALI\r", "|N|PROV\r", StringComparison.Ordinal));
        Assert.NotEqual(corpus, provisional);
        var mdm = Hl7Samples.ReadAck(await client.SendAsync(provisional));
        Assert.Equal("AA", mdm.Code);
        var held = Assert.Single(await gateway.MessagesAsync());
        Assert.Equal("held", held.Str("status"));
        Assert.Equal(0L, await ScalarAsync(store, "SELECT COUNT(*) FROM document"));

        Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"))).Code);

        var released = await gateway.WaitForStatusAsync(held.Id(), "processed", "failed");
        Assert.Equal("processed", released.Str("status"));
        Assert.Equal(["accepted", "held", "accepted", "processed"],
            released.GetProperty("history").EnumerateArray().Select(h => h.Str("status")).ToList());
        Assert.Equal(1L, await ScalarAsync(store, $"SELECT COUNT(*) FROM document WHERE unique_id = '{RadiologyId}'"));
    }

    /// <summary>Two polls: a file is taken once its size and time held still across them; then waits for its outcome.</summary>
    private static async Task TakeAsync(FilePoller poller, TestGateway gateway, string name)
    {
        await poller.PollOnceAsync("cda-drop");
        var poll = await poller.PollOnceAsync("cda-drop");
        Assert.Equal((1, 1), (poll.Taken, poll.Messages));
        var row = Assert.Single(await gateway.MessagesAsync("controlId=" + name));
        var done = await gateway.WaitForStatusAsync(row.Id(), "processed", "held", "failed", "refused-by-patient");
        Assert.True(done.Str("status") == "processed", $"{name} should be processed: {done}");
    }

    private static async Task<long> ScalarAsync(DmpStore store, string sql)
    {
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<long>(sql);
    }

    private static async Task<string?> TextAsync(DmpStore store, string sql)
    {
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<string?>(sql);
    }

    private static async Task<T> SingleAsync<T>(DmpStore store, string sql)
    {
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        return await connection.QuerySingleAsync<T>(sql);
    }

    private static async Task<IReadOnlyList<T>> QueryAsync<T>(DmpStore store, string sql)
    {
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        return (await connection.QueryAsync<T>(sql)).AsList();
    }
}
