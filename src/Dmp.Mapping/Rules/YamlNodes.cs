using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dmp.Mapping.Rules;

/// <summary>Reading YAML documents into nodes that keep their position, with errors as values.</summary>
internal static class YamlNodes
{
    public static bool TryLoad(string fullPath, string relative, out YamlMappingNode? root, out RuleError? error)
    {
        root = null;
        error = null;
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = new RuleError(relative, 1, 1, "cannot read: " + e.Message);
            return false;
        }
        var stream = new YamlStream();
        var scanner = new YamlDotNet.Core.Scanner(new StringReader(text));
        try
        {
            stream.Load(new YamlDotNet.Core.Parser(scanner));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this (no position of its own) on some unclosed flow collections (`a: [x` then more keys).
            var at = scanner.CurrentPosition;
            error = new RuleError(relative, (int)at.Line, (int)at.Column, "YAML: a [ or { is not closed: close it, or quote the value");
            return false;
        }
        catch (YamlException e)
        {
            var reason = e.InnerException is { } inner && !string.IsNullOrEmpty(inner.Message) ? inner.Message : e.Message;
            // YamlDotNet prefixes "(Line: l, Col: c, Idx: i) - (…): "; the position is ours to print.
            var cut = reason.LastIndexOf("): ", StringComparison.Ordinal);
            if (reason.StartsWith("(Line:", StringComparison.Ordinal) && cut >= 0)
                reason = reason[(cut + 3)..];
            error = new RuleError(relative, (int)e.Start.Line, (int)e.Start.Column, "YAML: " + reason);
            return false;
        }
        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode mapping)
        {
            var node = stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null;
            error = node is null
                ? new RuleError(relative, 1, 1, "empty file: expected a mapping with `rule:`, `partial:` or `table:`")
                : At(relative, node, "expected one YAML document holding a mapping (`rule:`, `partial:` or `table:`)");
            return false;
        }
        root = mapping;
        return true;
    }

    public static RuleError At(string file, YamlNode node, string reason) =>
        new(file, (int)node.Start.Line, (int)node.Start.Column, reason);

    public static string? Scalar(YamlNode? node) => node is YamlScalarNode s ? s.Value : null;

    public static YamlNode? Get(YamlMappingNode map, string key)
    {
        foreach (var pair in map.Children)
        {
            if (pair.Key is YamlScalarNode k && k.Value == key)
                return pair.Value;
        }
        return null;
    }

    /// <summary>True when every key of <paramref name="map"/> is allowed; else the first unknown key is an error and false.</summary>
    public static bool CheckKeys(List<RuleError> errors, string file, YamlMappingNode map, IReadOnlyCollection<string> allowed)
    {
        foreach (var pair in map.Children)
        {
            var key = Scalar(pair.Key);
            if (key is null || !allowed.Contains(key))
            {
                errors.Add(At(file, pair.Key, $"unknown key '{key}' (expected: {string.Join(", ", allowed)})"));
                return false;
            }
        }
        return true;
    }
}
