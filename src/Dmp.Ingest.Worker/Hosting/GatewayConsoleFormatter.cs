using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>Whether the console shows exceptions whole (`--verbose`) or as one line.</summary>
public sealed class GatewayConsoleOptions : ConsoleFormatterOptions
{
    public bool Verbose { get; set; }
}

/// <summary>
/// One line per log entry, UTC timestamp first, the trace id (`trace=…`) when written inside a span. An exception is its type and message on the same line;
/// its stack trace only with `--verbose` — a person at the console wants what and where, not frames.
/// </summary>
public sealed class GatewayConsoleFormatter(IOptionsMonitor<GatewayConsoleOptions> options) : ConsoleFormatter(Name)
{
    public new const string Name = "gateway";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
            return;
        var verbose = options.CurrentValue.Verbose;
        textWriter.Write(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ ", System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id);
        textWriter.Write("] ");
        // Inside a span (a message's receive or processing, an HTTP request): its trace id, to find the message's
        // other lines and spans (`traceId` in /api/messages).
        if (System.Diagnostics.Activity.Current is { } activity)
        {
            textWriter.Write("trace=");
            textWriter.Write(activity.TraceId.ToHexString());
            textWriter.Write(' ');
        }
        textWriter.Write(message.ReplaceLineEndings(" "));
        if (logEntry.Exception is { } e)
        {
            if (verbose)
            {
                textWriter.WriteLine();
                textWriter.Write(e.ToString());
            }
            else
            {
                textWriter.Write($" ({e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}; --verbose shows the stack trace)");
            }
        }
        textWriter.WriteLine();
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
