using System.CommandLine;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>
/// The verbs of the Worker executable. Unmatched `--Section:Key=value` tokens become configuration
/// overrides; response files are off (`@file` is a file name to us).
/// </summary>
public static class GatewayCommandLine
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var context = new CliContext(stdout, stderr) { Verbose = ServeVerb.CreateVerbose() };
        var root = new RootCommand("dmp-ingest: the gateway that feeds the DMP (HL7 v2 over MLLP, CDA over SFTP, FHIR R4 API)")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        root.Add(context.Verbose);
        var serve = ServeVerb.Create(context);
        root.Add(serve);
        root.Add(MapVerb.Create(context));
        root.Add(RulesVerb.Create(context));
        root.Add(SendVerb.Create(context));
        root.Add(TokenVerb.Create(context));
        // `serve` is the default verb.
        root.SetAction((result, ct) => ServeVerb.RunAsync(context, result, ct));

        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0)
        {
            stderr.WriteLine($"error: {parse.Errors[0].Message} (see --help)");
            return ExitCodes.Usage;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (Exception e)
        {
            // A bug or broken infrastructure: one line for the user; the stack trace only when asked for (a bug report).
            stderr.WriteLine($"error: {e.GetType().Name}: {e.Message}");
            if (parse.GetValue(context.Verbose))
                stderr.WriteLine(e.ToString());
            return ExitCodes.Software;
        }
    }
}

/// <summary>The console streams a verb writes to (injectable so tests run verbs in-process).</summary>
public sealed record CliContext(TextWriter Stdout, TextWriter Stderr)
{
    /// <summary>The `--verbose` option of this command line, when it has one.</summary>
    public Option<bool>? Verbose { get; init; }
}
