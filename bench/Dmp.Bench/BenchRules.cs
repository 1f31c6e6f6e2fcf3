using Dmp.Mapping.Rules;

namespace Dmp.Bench;

/// <summary>
/// The shipped mapping rules (`mappings/`), loaded once: copied beside the program by the project file, else found
/// upwards from the program's or the working folder at the folder holding Dmp.Ingest.sln.
/// </summary>
public static class BenchRules
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, RuleSet> Loaded = new(StringComparer.Ordinal);

    /// <summary>The rule set of a folder (the shipped one when null), loaded once per folder; throws when it does not load.</summary>
    public static RuleSet Load(string? rulesDir = null)
    {
        var folder = Locate(rulesDir);
        lock (Gate)
        {
            if (Loaded.TryGetValue(folder, out var rules))
                return rules;
            var result = RuleSet.Load(folder);
            if (result.Rules is null)
                throw new InvalidOperationException($"the rules in {folder} do not load: {string.Join("; ", result.Errors)}");
            Loaded[folder] = result.Rules;
            return result.Rules;
        }
    }

    /// <summary>The rules folder: the one given, else beside the program, else `mappings` of the repository above.</summary>
    public static string Locate(string? rulesDir = null)
    {
        if (rulesDir is not null)
            return Directory.Exists(rulesDir) ? Path.GetFullPath(rulesDir) : throw new DirectoryNotFoundException($"rules folder {rulesDir} does not exist");
        var beside = Path.Combine(AppContext.BaseDirectory, "mappings");
        if (File.Exists(Path.Combine(beside, "adt.yaml")))
            return beside;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "mappings");
                if (File.Exists(Path.Combine(dir.FullName, "Dmp.Ingest.sln")) && Directory.Exists(candidate))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException($"cannot find mappings/ beside {AppContext.BaseDirectory} or above it or {Directory.GetCurrentDirectory()}: run from the repository or pass --rules DIR");
    }
}
