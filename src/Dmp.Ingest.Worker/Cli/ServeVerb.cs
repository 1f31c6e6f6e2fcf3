using System.CommandLine;
using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Mllp;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>`serve` (the default verb): run the gateway until stopped.</summary>
public static class ServeVerb
{
    /// <summary>
    /// `--verbose`: stack traces on the console (for a bug report); without it every failure is one line.
    /// One per command line: a symbol is not shared between parsers that may run at once (in-process tests).
    /// </summary>
    public static Option<bool> CreateVerbose() => new("--verbose") { Description = "show exceptions with their stack traces", Recursive = true };

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
        var verbose = context.Verbose is { } option && result.GetValue(option);
        WebApplication app;
        try
        {
            app = GatewayHost.Build(overrides, verbose: verbose);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var (line, code) = Describe(e, null);
            return Fail(context, line, code, verbose ? e : null);
        }
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var (line, code) = Describe(e, app);
            await DisposeQuietlyAsync(app);
            return Fail(context, line, code, verbose ? e : null);
        }
        await app.WaitForShutdownAsync(cancellationToken);
        await app.DisposeAsync();
        return ExitCodes.Ok;
    }

    /// <summary>The one line and exit code for a failed start: what failed, where, and the fix.</summary>
    private static (string Line, int Code) Describe(Exception e, WebApplication? app)
    {
        var found = Unwrap(e);
        switch (found)
        {
            case StartupException s:
                return (s.Message, s.ExitCode);
            case OptionsValidationException v:
                return ($"invalid configuration: {string.Join(Environment.NewLine + "error: invalid configuration: ", v.Failures)}", ExitCodes.Usage);
            case IOException { InnerException: AddressInUseException } or AddressInUseException when app is not null:
                return (PortInUse(found, app), ExitCodes.Unavailable);
            case InvalidOperationException or FormatException when app is null:
                return ($"invalid configuration: {found.Message}", ExitCodes.Usage);
            case IOException or NotSupportedException or InvalidOperationException:
                return ($"cannot start: {found.Message}", ExitCodes.Software);
            default:
                return ($"cannot start: {found.GetType().Name}: {found.Message}", ExitCodes.Software);
        }
    }

    private static Exception Unwrap(Exception e)
    {
        for (var current = e; current is not null; current = current.InnerException)
            if (current is StartupException or OptionsValidationException)
                return current;
        return e is AggregateException { InnerExceptions: [var single] } ? Unwrap(single) : e;
    }

    private static string PortInUse(Exception e, WebApplication? app)
    {
        if (app is null)
            return $"cannot listen: {e.Message}";
        var http = app.Services.GetRequiredService<IOptions<HttpOptions>>().Value;
        var mllp = app.Services.GetRequiredService<IOptions<MllpOptions>>().Value;
        var message = (e.InnerException ?? e).Message.TrimEnd('.');
        var key = e.Message.Contains($":{mllp.Port}", StringComparison.Ordinal) && mllp.Port != http.Port ? "Dmp:Mllp:Port"
            : e.Message.Contains($":{http.Port}", StringComparison.Ordinal) ? "Dmp:Http:Port"
            : "Dmp:Http:Port or Dmp:Mllp:Port";
        var port = key == "Dmp:Mllp:Port" ? mllp.Port : http.Port;
        return $"cannot listen on {(key == "Dmp:Mllp:Port" ? mllp.Host : http.Host)}:{port} ({key}): {message}; stop the process that holds it or choose another port, e.g. --{key.Split(' ')[0]}={port + 1}";
    }

    private static int Fail(CliContext context, string line, int code, Exception? verbose = null)
    {
        foreach (var one in line.Split(Environment.NewLine))
            context.Stderr.WriteLine(one.StartsWith("error: ", StringComparison.Ordinal) ? one : $"error: {one}");
        if (verbose is not null)
            context.Stderr.WriteLine(verbose.ToString());
        return code;
    }

    private static async Task DisposeQuietlyAsync(WebApplication app)
    {
        try
        {
            await app.DisposeAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The start already failed; the line the user sees is about that, not about the cleanup.
        }
    }
}
