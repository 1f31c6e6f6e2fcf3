using System.Globalization;

namespace Dmp.LoadGen;

/// <summary>The load generator's command line.</summary>
public sealed record LoadOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 2575;
    public int Connections { get; init; } = 1;
    /// <summary>How long to send; with <see cref="Count"/> alone, a safety limit of 600 s.</summary>
    public double? Seconds { get; init; }
    public string File { get; init; } = "";
    /// <summary>Messages per second over all connections; null: as fast as the ACKs come back.</summary>
    public double? Rate { get; init; }
    /// <summary>Messages in all; null: until <see cref="Seconds"/> is over.</summary>
    public long? Count { get; init; }
    public bool Tls { get; init; }
    public bool TlsInsecure { get; init; }
    /// <summary>A message not answered within this time is lost (the connection is then opened anew).</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public bool Verify { get; init; }
    public string? Api { get; init; }
    public string? Token { get; init; }

    public TimeSpan Duration => TimeSpan.FromSeconds(Seconds ?? (Count is null ? 10 : 600));

    public const string Usage =
        "usage: Dmp.LoadGen --file F [--host H] [--port P] [--connections C] [--seconds S] [--rate MSGS_PER_S] [--count N]\n" +
        "                   [--tls [--tls-insecure]] [--ack-timeout SECONDS] [--verify --api http://H:PORT --token T]\n" +
        "       Dmp.LoadGen fsync --dir D [--seconds S] [--sqlite [--bytes N]]\n" +
        "       Dmp.LoadGen reference-server --port P --dir D [--host ADDRESS]";

    /// <summary>Reads the arguments; null with <paramref name="error"/> when they are wrong.</summary>
    public static LoadOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        var o = new LoadOptions();
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            switch (name)
            {
                case "--tls": o = o with { Tls = true }; continue;
                case "--tls-insecure": o = o with { TlsInsecure = true }; continue;
                case "--verify": o = o with { Verify = true }; continue;
            }
            if (i + 1 >= args.Count)
            {
                error = $"{name} needs a value";
                return null;
            }
            var value = args[++i];
            switch (name)
            {
                case "--host": o = o with { Host = value }; break;
                case "--port" when int.TryParse(value, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535: o = o with { Port = p }; break;
                case "--connections" when int.TryParse(value, CultureInfo.InvariantCulture, out var c) && c is > 0 and <= 1000: o = o with { Connections = c }; break;
                case "--seconds" when Positive(value, 3600, out var s): o = o with { Seconds = s }; break;
                case "--rate" when Positive(value, 1_000_000, out var r): o = o with { Rate = r }; break;
                case "--count" when long.TryParse(value, CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 100_000_000: o = o with { Count = n }; break;
                case "--ack-timeout" when Positive(value, 600, out var t): o = o with { AckTimeout = TimeSpan.FromSeconds(t) }; break;
                case "--file": o = o with { File = value }; break;
                case "--api": o = o with { Api = value }; break;
                case "--token": o = o with { Token = value }; break;
                default:
                    error = $"unexpected argument {name} {value}";
                    return null;
            }
        }
        if (o.File.Length == 0)
            error = "--file is required: the message to send (its MSH-10 is replaced on every send)";
        else if (o.TlsInsecure && !o.Tls)
            error = "--tls-insecure goes with --tls";
        else if (o.Verify && (o.Api is null || o.Token is null))
            error = "--verify needs --api http://HOST:PORT and --token (an operator token)";
        else if (o.Api is not null && !Uri.TryCreate(o.Api, UriKind.Absolute, out _))
            error = "--api must be an absolute URL such as http://127.0.0.1:8080";
        return error is null ? o : null;
    }

    private static bool Positive(string text, double max, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && value > 0 && value <= max;
}
