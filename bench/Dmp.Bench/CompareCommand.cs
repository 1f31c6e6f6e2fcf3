using System.Globalization;

namespace Dmp.Bench;

/// <summary>`compare [--seconds N] [--max-warmup S] [--corpus DIR] [--rules DIR]`: progress on stderr, one JSON object as the last line of stdout.</summary>
public static class CompareCommand
{
    public const int Usage = 64;

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var options = new ComparisonOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            switch (args[i])
            {
                case "--seconds" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 3600:
                    options = options with { Seconds = s };
                    i++;
                    break;
                case "--max-warmup" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && w >= 1 && w <= 600:
                    options = options with { MaxWarmupSeconds = w };
                    i++;
                    break;
                case "--corpus" when value is not null:
                    options = options with { CorpusDir = value };
                    i++;
                    break;
                case "--rules" when value is not null:
                    options = options with { RulesDir = value };
                    i++;
                    break;
                default:
                    stderr.WriteLine($"compare: unexpected argument {args[i]}");
                    stderr.WriteLine("usage: compare [--seconds N (0 < N <= 3600, default 10)] [--max-warmup S (default 15)] [--corpus tests/Dmp.Mapping.Tests/TestData] [--rules mappings]");
                    return Usage;
            }
        }
        var result = ParserComparison.Run(options, stderr);
        stdout.WriteLine(result.ToJson());
        return 0;
    }
}
