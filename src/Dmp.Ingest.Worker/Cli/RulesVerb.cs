using System.CommandLine;
using Dmp.Mapping.Rules;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>`rules check`: load and compile every rule file under `Dmp:Rules:Path`; the first error as `FILE:LINE:COL: reason`, exit 65.</summary>
public static class RulesVerb
{
    public static Command Create(CliContext context)
    {
        var rules = new Command("rules", "Work with the mapping rules (mappings/)");
        var check = new Command("check", "Validate every rule file under Dmp:Rules:Path: schema, unknown keys, HL7 paths, code tables")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        check.SetAction(result =>
        {
            if (!ConfigurationOverrides.TryCollect(result.UnmatchedTokens, out var overrides, out var usage))
            {
                context.Stderr.WriteLine($"error: {usage}");
                return ExitCodes.Usage;
            }
            return Check(context, RulesFolder.Configured(overrides));
        });
        rules.Add(check);
        return rules;
    }

    public static int Check(CliContext context, string configured)
    {
        var folder = RulesFolder.Resolve(configured);
        if (folder is null)
        {
            context.Stderr.WriteLine(RulesFolder.Missing(configured));
            return ExitCodes.NoInput;
        }
        var loaded = RuleSet.Load(folder);
        if (loaded.Rules is not { } set)
        {
            context.Stderr.WriteLine(RulesFolder.Format(folder, loaded.Errors[0]));
            return ExitCodes.DataError;
        }
        var partials = set.Files.Count(f => f.StartsWith("partials/", StringComparison.Ordinal));
        context.Stdout.WriteLine($"{RulesFolder.Display(folder)}: {set.Rules.Count} message rules, {set.DocumentRules.Count} document rules, {partials} partials, {set.Tables.Count} code tables, {set.Files.Count} files: OK");
        return ExitCodes.Ok;
    }
}

/// <summary>
/// Where the rules are: `Dmp:Rules:Path` (override, environment, appsettings, default `mappings`) from
/// the current folder — never a copy beside the executable, which an edit of the user's files would not reach.
/// </summary>
public static class RulesFolder
{
    public const string Key = "Dmp:Rules:Path";

    /// <summary>`Dmp:Rules:Path` from the full configuration (appsettings, environment, overrides); default `mappings`.</summary>
    public static string Configured(IReadOnlyDictionary<string, string?> overrides) =>
        Hosting.GatewayConfiguration.Build(overrides)[Key] is { Length: > 0 } value ? value : "mappings";

    /// <summary>The folder to load, or null when the configured path is not a folder.</summary>
    public static string? Resolve(string configured)
    {
        var full = Path.GetFullPath(configured);
        return Directory.Exists(full) ? full : null;
    }

    /// <summary>The one line that says where the rules were looked for and how to point elsewhere.</summary>
    public static string Missing(string configured) =>
        $"{Key} is '{configured}' ({Path.GetFullPath(configured)}), which is not a folder: run from the folder that holds mappings/, or set --{Key}=<folder>";

    public static string Format(string folder, RuleError error) =>
        (error with { File = Display(Path.Combine(folder, error.File)) }).ToString();

    /// <summary>A path as the user would type it: relative to the current folder when below it, else absolute.</summary>
    public static string Display(string path)
    {
        var full = Path.GetFullPath(path);
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), full);
        return relative == "." || relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
    }
}
