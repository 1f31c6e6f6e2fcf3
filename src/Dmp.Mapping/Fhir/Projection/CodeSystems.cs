using System.Collections.Frozen;
using Dmp.Mapping.Generic;
using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>
/// Coding systems as FHIR URIs, from the one terminology table (<c>mappings/tables/coding-systems.yaml</c>, built into
/// this assembly so the projection does not depend on which rules folder a host loaded), plus the rules no table can
/// list: URIs as they are, OIDs as <c>urn:oid:</c>, <c>HL7NNNN</c> as the v2-NNNN code system.
/// </summary>
public static class CodeSystems
{
    private const string ResourceName = "Dmp.Mapping.coding-systems.yaml";

    private static readonly FrozenDictionary<string, string> Table = Load();

    /// <summary>The table's entries: a system as senders and documents name it → its FHIR URI.</summary>
    public static IReadOnlyDictionary<string, string> Entries => Table;

    /// <summary>A coding system as a URI: the table's, else a URI as it is, an OID as `urn:oid:`, HL7NNNN as v2-NNNN; null when none applies.</summary>
    public static string? Uri(string? system)
    {
        if (string.IsNullOrEmpty(system))
            return null;
        if (Table.TryGetValue(system, out var uri))
            return uri;
        if (system.Contains(':', StringComparison.Ordinal))
            return system;
        if (PatientReader.IsOid(system))
            return "urn:oid:" + system;
        if (system.Length == 7 && system.StartsWith("HL7", StringComparison.Ordinal) && system[3..].All(char.IsAsciiDigit))
            return "http://terminology.hl7.org/CodeSystem/v2-" + system[3..];
        return null;
    }

    /// <summary>Every name the table gives for the same system as <paramref name="uri"/> (a stored row may spell it any of these ways).</summary>
    public static IEnumerable<string> NamesOf(string uri) =>
        Table.Where(e => string.Equals(e.Value, uri, StringComparison.Ordinal)).Select(e => e.Key);

    private static FrozenDictionary<string, string> Load()
    {
        using var stream = typeof(CodeSystems).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{ResourceName} is not built into {typeof(CodeSystems).Assembly.GetName().Name}: see Dmp.Mapping.csproj.");
        using var reader = new StreamReader(stream);
        var yaml = new YamlStream();
        yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var entries = (YamlMappingNode)root.Children[new YamlScalarNode("entries")];
        return entries.Children.ToFrozenDictionary(
            e => ((YamlScalarNode)e.Key).Value!,
            e => ((YamlScalarNode)e.Value).Value!,
            StringComparer.Ordinal);
    }
}
