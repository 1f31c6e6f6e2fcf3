using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>A field mapping as written, with the file it came from (a sender override may replace a base rule's field).</summary>
internal sealed record FieldSpec(string Name, YamlScalarNode KeyNode, YamlNode Value, string File);

/// <summary>A record mapping as written: the model record it fills, where it iterates, its fields and nested records.</summary>
internal sealed class RecordSpec
{
    public required string File { get; init; }
    public required YamlMappingNode Node { get; init; }
    public required string Kind { get; set; }
    public required string Name { get; init; }
    public YamlNode? Each { get; set; }
    public string EachFile { get; set; } = "";
    public YamlNode? When { get; set; }
    public string WhenFile { get; set; } = "";
    public List<FieldSpec> Fields { get; init; } = [];
    public List<RecordSpec> Children { get; init; } = [];

    public RecordSpec Clone() => new()
    {
        File = File,
        Node = Node,
        Kind = Kind,
        Name = Name,
        Each = Each,
        EachFile = EachFile,
        When = When,
        WhenFile = WhenFile,
        Fields = [.. Fields],
        Children = Children.Select(c => c.Clone()).ToList(),
    };
}

/// <summary>A rule file as written: when it applies, what it includes or extends, and its records.</summary>
internal sealed class RuleSpec
{
    public required string Id { get; init; }
    public required string File { get; init; }
    public required YamlMappingNode Node { get; init; }
    public string? Description { get; init; }
    public string? MessageType { get; set; }
    public HashSet<string>? Triggers { get; set; }
    public string? Version { get; set; }
    public string? Profile { get; set; }
    public string? Sender { get; set; }
    /// <summary>`carries: cda`: the rule applies only to a message whose OBX carry a CDA R2 document (<see cref="CarriedCda"/>).</summary>
    public string? Carries { get; set; }
    /// <summary>The sender's time zone (`zone:`), for MSH-7 without an offset; inherited by overrides; null means UTC.</summary>
    public TimeZoneInfo? Zone { get; set; }
    public string? Extends { get; init; }
    public YamlNode? ExtendsNode { get; init; }
    public List<(string Path, YamlNode Node)> Includes { get; init; } = [];
    public List<RecordSpec> Records { get; init; } = [];
    public List<RecordSpec> Overrides { get; init; } = [];
    /// <summary>Every file the rule is made of: itself, its partials, its base rule's files, the tables it uses.</summary>
    public SortedSet<string> SourceFiles { get; } = new(StringComparer.Ordinal);
}
