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
            context.Stderr.WriteLine($"{configured}: no such rules folder");
            return ExitCodes.NoInput;
        }
        var loaded = RuleSet.Load(folder);
        if (loaded.Rules is not { } set)
        {
            context.Stderr.WriteLine(RulesFolder.Format(folder, loaded.Errors[0]));
            return ExitCodes.DataError;
        }
        var partials = set.Files.Count(f => f.StartsWith("partials/", StringComparison.Ordinal));
        context.Stdout.WriteLine($"{folder}: {set.Rules.Count} message rules, {set.DocumentRules.Count} document rules, {partials} partials, {set.Tables.Count} code tables, {set.Files.Count} files: OK");
        return ExitCodes.Ok;
    }
}

/// <summary>Where the rules are: `Dmp:Rules:Path` (override, environment, default `mappings`) from the working folder, else the copy beside the executable.</summary>
public static class RulesFolder
{
    public const string Key = "Dmp:Rules:Path";

    /// <summary>`Dmp:Rules:Path` from the full configuration (appsettings, environment, overrides); default `mappings`.</summary>
    public static string Configured(IReadOnlyDictionary<string, string?> overrides) =>
        Hosting.GatewayConfiguration.Build(overrides)[Key] is { Length: > 0 } value ? value : "mappings";

    /// <summary>The folder to load, or null when neither the configured path nor the shipped copy exists.</summary>
    public static string? Resolve(string configured)
    {
        var full = Path.GetFullPath(configured);
        if (Directory.Exists(full))
            return full;
        var shipped = Path.Combine(AppContext.BaseDirectory, "mappings");
        return Directory.Exists(shipped) ? shipped : null;
    }

    public static string Format(string folder, RuleError error) =>
        (error with { File = Path.Combine(folder, error.File) }).ToString();
}
