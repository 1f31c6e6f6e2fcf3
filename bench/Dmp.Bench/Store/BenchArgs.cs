using System.Globalization;

namespace Dmp.Bench.Store;

/// <summary>`--name value` pairs of the store commands, checked against the names a command takes.</summary>
public static class BenchArgs
{
    public const int Usage = 64;

    /// <summary>The pairs, or null (after a usage line on stderr) when a name is unknown or has no value.</summary>
    public static Dictionary<string, string>? Parse(IReadOnlyList<string> args, TextWriter stderr, string usage, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stderr);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i += 2)
        {
            if (!names.Contains(args[i]) || i + 1 >= args.Count)
            {
                stderr.WriteLine($"unexpected argument {args[i]}");
                stderr.WriteLine("usage: " + usage);
                return null;
            }

            values[args[i]] = args[i + 1];
        }

        return values;
    }

    public static int Int(IReadOnlyDictionary<string, string> values, string name, int fallback) =>
        values.TryGetValue(name, out var text)
            ? int.Parse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) is var n and >= 0 ? n : throw new ArgumentOutOfRangeException(name)
            : fallback;

    /// <summary>The p-th percentile (0–100) of sorted values, nearest rank.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
