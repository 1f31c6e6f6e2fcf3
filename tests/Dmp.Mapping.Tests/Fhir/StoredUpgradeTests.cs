using System.Text.Json.Nodes;
using Dmp.Mapping.Fhir.Projection;

namespace Dmp.Mapping.Tests.Fhir;

/// <summary>Entries stored by earlier versions are served as the projection writes them now (<see cref="DmpFhir.UpgradeStored"/>).</summary>
public sealed class StoredUpgradeTests
{
    [Fact]
    public void Legacy_extension_urls_are_rewritten_at_any_depth()
    {
        var json = JsonNode.Parse("""
            {"resourceType":"Encounter","status":"finished","extension":[{"url":"urn:dmp-ingest:fhir:extension:movement",
             "extension":[{"url":"action","valueCode":"INSERT"}]}],
             "location":[{"location":{"display":"UF"},"extension":[{"url":"urn:dmp-ingest:fhir:extension:dmp-routing","valueBoolean":true}]}]}
            """)!.AsObject();
        Assert.True(DmpFhir.UpgradeStored(json));
        var text = json.ToJsonString();
        Assert.DoesNotContain("urn:dmp-ingest:fhir:extension", text, StringComparison.Ordinal);
        Assert.Contains(DmpFhir.MovementExtension, text, StringComparison.Ordinal);
        Assert.Contains(DmpFhir.RoutingExtension, text, StringComparison.Ordinal);
        // Sub-extension names (relative URLs) stay as they are.
        Assert.Contains("\"url\":\"action\"", text, StringComparison.Ordinal);
        Assert.False(DmpFhir.UpgradeStored(json));
    }

    [Fact]
    public void An_allergy_without_a_clinical_status_gets_active_unless_entered_in_error()
    {
        var plain = JsonNode.Parse("""{"resourceType":"AllergyIntolerance","code":{"text":"latex"}}""")!.AsObject();
        Assert.True(DmpFhir.UpgradeStored(plain));
        Assert.Equal("active", plain["clinicalStatus"]!["coding"]![0]!["code"]!.GetValue<string>());

        var inactive = JsonNode.Parse("""{"resourceType":"AllergyIntolerance","clinicalStatus":{"coding":[{"code":"inactive"}]}}""")!.AsObject();
        Assert.False(DmpFhir.UpgradeStored(inactive));

        var error = JsonNode.Parse("""{"resourceType":"AllergyIntolerance","verificationStatus":{"coding":[{"code":"entered-in-error"}]}}""")!.AsObject();
        Assert.False(DmpFhir.UpgradeStored(error));
        Assert.Null(error["clinicalStatus"]);
    }
}
