using System.Globalization;
using System.Net;
using System.Text;
using Dmp.Ingest.Worker.Tests.Fhir;
using Dmp.Ingest.Worker.Tests.Mllp;
using Dmp.Ingest.Worker.Tests.Sftp;

namespace Dmp.Ingest.Worker.Tests.Security;

/// <summary>
/// A document the safe XML reader refuses is not published, through the real listeners: an MDM carrying it fails (AE with
/// ERR in Processed mode, the reason on the message) and a dropped CDA file is refused or fails; no DocumentReference either way.
/// </summary>
public sealed class UnreadableDocumentTests
{
    private const string Doctype = "<!DOCTYPE ClinicalDocument [ <!ENTITY xxe SYSTEM \"file:///etc/hostname\"> ]>\n";

    [Fact]
    [Trait("Tier", "Slow")]
    public async Task An_mdm_whose_cda_has_a_doctype_gets_AE_fails_with_the_reason_and_publishes_no_document()
    {
        const int variant = 61;
        var ins = CorpusFeed.Ins(variant);
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:AckMode"] = "Processed" });
        await using var client = await gateway.ConnectAsync();
        Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(CorpusFeed.Admission(variant))).Code);
        // The patient-visible copy of the radiology MDM, its CDA given a DOCTYPE in front of its root element.
        var intact = CorpusFeed.Radiology(variant, masked: true);
        var hostile = Hl7Samples.WithControlId(WithCda(intact, cda => cda.Insert(cda.IndexOf("<ClinicalDocument", StringComparison.Ordinal), Doctype)), "SAFE-MDM-XXE");

        var answer = Hl7Samples.ReadAck(await client.SendAsync(hostile));

        Assert.Equal(("AE", "SAFE-MDM-XXE"), (answer.Code, answer.ControlId));
        Assert.True(answer.HasErr);
        Assert.Contains("DOCTYPE", answer.Raw, StringComparison.Ordinal);
        var row = await gateway.SingleAsync("SAFE-MDM-XXE");
        Assert.Equal("failed", row.Str("status"));
        var detail = await gateway.GetAsync(row.Id());
        Assert.Contains("safe reader refuses", detail.Str("error"), StringComparison.Ordinal);
        Assert.Contains("DOCTYPE", detail.Str("error"), StringComparison.Ordinal);
        using var patient = gateway.Client(DossierSeed.PatientToken(ins));
        var search = "/fhir/DocumentReference?patient.identifier=" + Uri.EscapeDataString($"urn:oid:{CorpusFeed.InsOid}|{ins}");
        var (status, bundle) = await patient.FhirGetAsync(search);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(bundle.Ids());

        // The control: the same MDM with its CDA intact is published and found by that very search.
        Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.WithControlId(intact, "SAFE-MDM-OK"))).Code);
        Assert.Single((await patient.FhirGetAsync(search)).Body.Ids());
    }

    [Theory(Timeout = 90_000)]
    [Trait("Tier", "Slow")]
    [InlineData("doctype", "rejected")]
    [InlineData("billion-laughs", "rejected")]
    [InlineData("not-well-formed", "failed")]
    public async Task A_dropped_cda_the_safe_reader_refuses_publishes_no_document(string fault, string status)
    {
        var folder = Directory.CreateTempSubdirectory("dmp-drop-unreadable-");
        try
        {
            await using var gateway = await DropFolderGateway.StartAsync(folder);
            var cda = Encoding.Latin1.GetString(File.ReadAllBytes(CliRunner.TestData("cda", "french", "ans-cisis_BIO-CR-BIO_2024.01_TSH_1.xml")));
            var root = cda.IndexOf("<ClinicalDocument", StringComparison.Ordinal);
            cda = fault switch
            {
                "doctype" => cda.Insert(root, Doctype),
                "billion-laughs" => cda.Insert(root, "<!DOCTYPE lolz [ <!ENTITY lol \"lol\"> <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"> ]>\n")
                    .Replace("</title>", "&lol2;</title>", StringComparison.Ordinal),
                _ => cda[..cda.LastIndexOf("</ClinicalDocument>", StringComparison.Ordinal)] + "<component>", // cut before its end
            };
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, $"{fault}.xml"), Encoding.Latin1.GetBytes(cda));

            await gateway.Poller().PollOnceAsync("drop");
            await gateway.Poller().PollOnceAsync("drop");

            var row = Assert.Single(await gateway.MessagesAsync(), r => r.Str("channel") == "drop");
            var done = await gateway.WaitForStatusAsync(row.Id(), "failed", "rejected", "processed");
            Assert.Equal(status, done.Str("status"));
            Assert.False(string.IsNullOrEmpty(done.Str("error")), done.ToString());
            Assert.Equal(0L, await ScalarAsync(gateway, "SELECT COUNT(*) FROM document"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The message with <paramref name="edit"/> applied to the CDA its document OBX carries base64 (OBX-5.5).</summary>
    private static byte[] WithCda(byte[] message, Func<string, string> edit)
    {
        var segments = Encoding.Latin1.GetString(message).Split('\r');
        var edited = 0;
        for (var i = 0; i < segments.Length; i++)
        {
            var fields = segments[i].Split('|');
            if (fields[0] != "OBX" || fields.Length <= 5 || fields[2] != "ED" || fields[3].Split('^') is not [_, _, "LN", ..] || fields[5].Split('^') is not { Length: > 4 } components)
                continue;
            components[4] = Convert.ToBase64String(Encoding.Latin1.GetBytes(edit(Encoding.Latin1.GetString(Convert.FromBase64String(components[4])))));
            fields[5] = string.Join('^', components);
            segments[i] = string.Join('|', fields);
            edited++;
        }
        Assert.Equal(1, edited);
        return Encoding.Latin1.GetBytes(string.Join('\r', segments));
    }

    private static async Task<long> ScalarAsync(TestGateway gateway, string sql)
    {
        var store = (Dmp.Store.DmpStore)gateway.Services.GetService(typeof(Dmp.Store.DmpStore))!;
        await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
