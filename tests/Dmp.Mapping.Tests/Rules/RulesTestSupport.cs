using Dmp.Mapping.Rules;

namespace Dmp.Mapping.Tests.Rules;

/// <summary>The shipped rules (mappings/, copied beside the tests) loaded once, and the golden cases.</summary>
internal static class RulesTestSupport
{
    private static readonly Lazy<RuleSet> Shipped = new(() =>
    {
        var loaded = RuleSet.Load(MappingsFolder);
        return loaded.Rules ?? throw new InvalidOperationException(string.Join('\n', loaded.Errors));
    });

    public static string MappingsFolder => Path.Combine(AppContext.BaseDirectory, "mappings");

    public static string GoldenFolder => Path.Combine(AppContext.BaseDirectory, "golden");

    public static RuleSet Rules => Shipped.Value;

    /// <summary>The repository's tests/golden, for DMP_UPDATE_GOLDEN=1 runs that rewrite the expected files.</summary>
    public static string? SourceGoldenFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "golden");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Dmp.Ingest.sln")))
                return candidate;
        }
        return null;
    }

    public static string TestData(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    /// <summary>A temporary copy of the shipped rules, to break on purpose.</summary>
    public static DirectoryInfo CopyOfMappings()
    {
        var dir = Directory.CreateTempSubdirectory("dmp-rules-");
        foreach (var file in Directory.EnumerateFiles(MappingsFolder, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir.FullName, Path.GetRelativePath(MappingsFolder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return dir;
    }
}
