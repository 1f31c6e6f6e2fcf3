using System.CommandLine;
using Dmp.Mapping;
using Dmp.Mapping.Fhir;

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
        command.Add(file);
        command.SetAction(result =>
        {
            if (!ConfigurationOverrides.TryCollect(result.UnmatchedTokens, out _, out var usage))
            {
                context.Stderr.WriteLine($"error: {usage}");
                return ExitCodes.Usage;
            }
            return Run(context, result.GetValue(file)!);
        });
        return command;
    }

    public static int Run(CliContext context, string path)
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

        var result = InboundMapper.Map(bytes, "file");
        if (result.Error is { } error)
        {
            context.Stderr.WriteLine(error.Format(path));
            return ExitCodes.DataError;
        }
        context.Stdout.WriteLine(FhirJson.Serialize(result.Bundle!));
        return ExitCodes.Ok;
    }
}
