using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>How the console log is written.</summary>
public enum LogFormat
{
    /// <summary>One readable line per entry (<see cref="GatewayConsoleFormatter"/>).</summary>
    Text,
    /// <summary>One JSON object per line (<see cref="GatewayJsonFormatter"/>), for a log shipper.</summary>
    Json,
}

/// <summary>The console log's format (`Dmp:Logging:*`).</summary>
public sealed class GatewayLoggingOptions
{
    public const string Section = "Dmp:Logging";

    /// <summary>`text` (default) or `json` (JSON lines).</summary>
    public LogFormat Format { get; set; } = LogFormat.Text;
}

/// <summary>The console logger with the gateway's formatters: text lines or, with `Dmp:Logging:Format=json`, JSON lines.</summary>
public static class GatewayLogging
{
    /// <param name="verbose">`serve --verbose`: exceptions whole in the text format (the JSON format never writes more than their type).</param>
    public static ILoggingBuilder AddGatewayLogging(this ILoggingBuilder logging, IConfiguration configuration, bool verbose)
    {
        // SettingsCheck has already turned a value that is not text or json into one line naming the key.
        var options = configuration.GetSection(GatewayLoggingOptions.Section).Get<GatewayLoggingOptions>() ?? new GatewayLoggingOptions();
        var name = options.Format == LogFormat.Json ? GatewayJsonFormatter.Name : GatewayConsoleFormatter.Name;
        logging.AddConsole(o => o.FormatterName = name);
        logging.AddConsoleFormatter<GatewayConsoleFormatter, GatewayConsoleOptions>(o => o.Verbose = verbose);
        logging.AddConsoleFormatter<GatewayJsonFormatter, ConsoleFormatterOptions>();
        return logging;
    }
}

/// <summary>
/// One JSON object per line: `timestamp` (UTC), `level`, `category`, `message`, `traceId` and `spanId` (when the entry is
/// written inside a span: a message's receive or processing, an HTTP request), and `exception` — its type only, never
/// its message or stack (either may quote input). The message is the same text the text format writes, under the same
/// rule: no patient identifier or clinical text at Information or above.
/// </summary>
public sealed class GatewayJsonFormatter() : ConsoleFormatter(Name)
{
    public new const string Name = "gateway-json";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
            return;
        var buffer = new ArrayBufferWriter<byte>(256 + message.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", Level(logEntry.LogLevel));
            json.WriteString("category", logEntry.Category);
            json.WriteString("message", message);
            if (Activity.Current is { } activity)
            {
                json.WriteString("traceId", activity.TraceId.ToHexString());
                json.WriteString("spanId", activity.SpanId.ToHexString());
            }
            if (logEntry.Exception is { } e)
                json.WriteString("exception", e.GetType().FullName);
            json.WriteEndObject();
        }
        textWriter.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "information",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };
}
