using System.Text.Json.Nodes;
using Dmp.Ingest.Worker.RuleWorkbench;

namespace Dmp.Ingest.Worker.Tests.Rules;

public sealed class BundleDiffTests
{
    private static JsonNode Bundle(params string[] resources) =>
        JsonNode.Parse("""{"resourceType":"Bundle","type":"collection","entry":[""" + string.Join(',', resources.Select(r => """{"resource":""" + r + "}")) + "]}")!;

    [Fact]
    public void Resources_are_matched_by_type_and_id_and_only_changed_fields_are_listed()
    {
        var before = Bundle("""{"resourceType":"Patient","id":"p1","name":[{"family":"DUPONT"}]}""", """{"resourceType":"Encounter","id":"e1","class":{"code":"IMP"}}""");
        var after = Bundle("""{"resourceType":"Encounter","id":"e1","class":{"code":"EMER"}}""", """{"resourceType":"Patient","id":"p1","name":[{"family":"DUPONT"}]}""");

        var (changes, total) = BundleDiff.Compare(before, after);

        Assert.Equal(1, total);
        Assert.Equal(new FieldChange("Encounter/e1", "class.code", "IMP", "EMER"), Assert.Single(changes));
    }

    [Fact]
    public void An_added_or_removed_resource_shows_its_fields_as_absent_on_the_other_side()
    {
        var before = Bundle("""{"resourceType":"Patient","id":"p1","gender":"male"}""");
        var after = Bundle("""{"resourceType":"Observation","status":"final"}""");

        var (changes, _) = BundleDiff.Compare(before, after);

        Assert.Contains(new FieldChange("Patient/p1", "gender", "male", null), changes);
        Assert.Contains(new FieldChange("Observation#1", "status", null, "final"), changes);
    }

    [Fact]
    public void Long_values_are_cut_and_the_list_is_capped_while_the_total_counts_everything()
    {
        var fields = string.Join(',', Enumerable.Range(0, BundleDiff.MaxChanges + 10).Select(i => $"\"f{i}\":\"{new string('x', 500)}\""));
        var before = Bundle("""{"resourceType":"Basic","id":"b"}""");
        var after = Bundle("""{"resourceType":"Basic","id":"b",""" + fields + "}");

        var (changes, total) = BundleDiff.Compare(before, after);

        Assert.Equal(BundleDiff.MaxChanges + 10, total);
        Assert.Equal(BundleDiff.MaxChanges, changes.Count);
        Assert.All(changes, c => Assert.Equal(BundleDiff.MaxValueLength + 1, c.After!.Length));
    }
}
