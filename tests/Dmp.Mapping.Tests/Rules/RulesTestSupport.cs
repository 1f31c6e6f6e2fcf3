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
    /// <summary>
    /// Loads a copy of the shipped rules with one edit (<paramref name="find"/> → <paramref name="replace"/> in
    /// <paramref name="file"/>) and returns the first error it reports; fails when the edit finds nothing or loads.
    /// </summary>
    public static RuleError FirstErrorAfterEdit(string file, string find, string replace)
    {
        var dir = Directory.CreateTempSubdirectory("dmp-rules-");
        try
        {
            foreach (var source in Directory.EnumerateFiles(MappingsFolder, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(dir.FullName, Path.GetRelativePath(MappingsFolder, source));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(source, target);
            }
            var path = Path.Combine(dir.FullName, file);
            var text = File.ReadAllText(path);
            Assert.Contains(find, text, StringComparison.Ordinal);
            File.WriteAllText(path, text.Replace(find, replace, StringComparison.Ordinal));

            var loaded = RuleSet.Load(dir.FullName);

            Assert.False(loaded.Success);
            return loaded.Errors[0];
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
