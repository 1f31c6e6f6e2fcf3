using System.CommandLine;
using Dmp.Mapping;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Rules;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>`map FILE`: parse and map one HL7 v2 message, batch or CDA document; print the FHIR Bundle.</summary>
public static class MapVerb
{
    public static Command Create(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "an HL7 v2 message (or batch) or a CDA R2 document; the kind is told by content" };
        var command = new Command("map", "Parse and map one input and print the FHIR R4 Bundle (type collection) as JSON")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        var explain = new Option<bool>("--explain") { Description = "also list on stderr the rule used and the segments and fields no rule read" };
        command.Add(file);
        command.Add(explain);
        command.SetAction(result =>
        {
            if (!ConfigurationOverrides.TryCollect(result.UnmatchedTokens, out var overrides, out var usage))
            {
                context.Stderr.WriteLine($"error: {usage}");
                return ExitCodes.Usage;
            }
            return Run(context, result.GetValue(file)!, RulesFolder.Configured(overrides), result.GetValue(explain));
        });
        return command;
    }

    public static int Run(CliContext context, string path) => Run(context, path, "mappings", explain: false);

    public static int Run(CliContext context, string path, string rulesPath, bool explain)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "permission denied",
                _ => e.Message,
            };
            context.Stderr.WriteLine($"{path}: cannot read: {reason}");
            return ExitCodes.NoInput;
        }

        var rules = RuleSet.Empty;
        if (RulesFolder.Resolve(rulesPath) is not { } folder)
        {
            context.Stderr.WriteLine($"warning: {RulesFolder.Missing(rulesPath)}; mapped without rules");
        }
        else
        {
            var loaded = RuleSet.Load(folder);
            if (loaded.Rules is null)
            {
                context.Stderr.WriteLine(RulesFolder.Format(folder, loaded.Errors[0]));
                return ExitCodes.DataError;
            }
            rules = loaded.Rules;
        }

        var result = InboundMapper.Map(bytes, "file", rules);
        if (result.Error is { } error)
        {
            context.Stderr.WriteLine(error.Format(path));
            return ExitCodes.DataError;
        }
        context.Stdout.WriteLine(FhirJson.Serialize(result.Bundle!));
        if (explain)
            Explain(context, path, bytes, rules);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// `--explain`: per message, the rule used, what no rule read, identifiers no table resolves and the fields
    /// that decide the outcome (ignored, held, refused), on stderr (stdout stays a Bundle).
    /// </summary>
    private static void Explain(CliContext context, string path, byte[] bytes, RuleSet rules)
    {
        foreach (var message in MapExplanation.Explain(bytes, "file", rules))
        {
            if (message.Type is null)
            {
                foreach (var line in message.Notes)
                    context.Stderr.WriteLine($"{path}: document: {line}");
                continue;
            }
            var prefix = $"{path}: message {message.Number} {message.Type}";
            context.Stderr.WriteLine(message.Rule is null ? $"{prefix}: no rule" : $"{prefix}: rule {message.Rule.Id} ({message.Rule.File})");
            foreach (var line in message.Unused.Concat(message.Notes))
                context.Stderr.WriteLine($"{prefix}: {line}");
        }
    }
}
