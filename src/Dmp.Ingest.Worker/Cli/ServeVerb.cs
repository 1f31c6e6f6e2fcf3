using System.CommandLine;
using Dmp.Ingest.Worker.Hosting;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>`serve` (the default verb): run the gateway until stopped.</summary>
public static class ServeVerb
{
    public static Command Create(CliContext context)
    {
        var command = new Command("serve", "Run the gateway: MLLP listener, processing, HTTP API (the default verb)")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((result, ct) => RunAsync(context, result, ct));
        return command;
    }

    public static async Task<int> RunAsync(CliContext context, ParseResult result, CancellationToken cancellationToken)
    {
        if (!ConfigurationOverrides.TryCollect(result.UnmatchedTokens, out var overrides, out var usage))
        {
            context.Stderr.WriteLine($"error: {usage}");
            return ExitCodes.Usage;
        }
        WebApplication app;
        try
        {
            app = GatewayHost.Build(overrides);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or FormatException)
        {
            context.Stderr.WriteLine($"error: invalid configuration: {e.Message}");
            return ExitCodes.Usage;
        }
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is OptionsValidationException or IOException or InvalidOperationException or NotSupportedException)
        {
            context.Stderr.WriteLine(e switch
            {
                OptionsValidationException v => $"error: invalid configuration: {string.Join("; ", v.Failures)}",
                IOException => $"error: cannot start: {e.Message}",
                _ => $"error: cannot start: {e.Message}",
            });
            await app.DisposeAsync();
            return e is OptionsValidationException ? ExitCodes.Usage : ExitCodes.Software;
        }
        await app.WaitForShutdownAsync(cancellationToken);
        await app.DisposeAsync();
        return ExitCodes.Ok;
    }
}
