using System.Net;
using Dmp.Ingest.Worker.Tests.Mllp;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Fhir;

/// <summary>`Dmp:Access:*`: the delay before a document hidden from the patient shows, validated at start.</summary>
public sealed class AccessSettingsTests
{
    [Fact]
    public async Task The_patient_hidden_delay_is_configurable()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Access:PatientHiddenDays"] = "0" });
        var seed = new DossierSeed(gateway);
        var ins = DossierSeed.NewIns();
        var patientId = await seed.PatientAsync(ins);
        // Stored when the gateway applied it, an instant before the search below.
        var hidden = await seed.DocumentAsync(patientId, new DossierSeed.Doc { HiddenFromPatient = true });
        using var patient = seed.Client(DossierSeed.PatientToken(ins));

        var (status, bundle) = await patient.FhirGetAsync(DocumentsOf(ins));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([hidden], bundle.Ids());
    }

    [Fact]
    public async Task A_negative_delay_stops_the_gateway_naming_the_setting()
    {
        var (code, _, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Access:PatientHiddenDays=-1", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0",
            $"--Dmp:DataDir={Path.GetTempPath()}dmp-access-days");

        Assert.Equal(64, code);
        Assert.Contains("Dmp:Access:PatientHiddenDays", stderr, StringComparison.Ordinal);
    }
}
