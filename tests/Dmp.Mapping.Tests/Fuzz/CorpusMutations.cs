using System.Text;

namespace Dmp.Mapping.Tests.Fuzz;

/// <summary>
/// Mutated copies of the public corpus, reproducible from a seed: bit flips, truncation, delimiter
/// swaps, encoding changes, segment removal and duplication, inserted junk, line-ending changes.
/// </summary>
public sealed class CorpusMutations
{
    private static readonly byte[] Delimiters = "|^~\\&\r\n#"u8.ToArray();
    private readonly IReadOnlyList<(string Name, byte[] Bytes)> _seeds;
    private readonly IReadOnlyList<(string Name, byte[] Bytes)> _small;
    private readonly int _seed;

    public CorpusMutations(IReadOnlyList<(string Name, byte[] Bytes)> seeds, int seed)
    {
        if (seeds.Count == 0)
            throw new ArgumentException("no corpus files to mutate", nameof(seeds));
        _seeds = seeds;
        _small = [.. seeds.Where(s => s.Bytes.Length < 20_000)];
        _seed = seed;
    }

    /// <summary>The seed files of the corpus copy (HL7 v2 and CDA), read from the test output's TestData.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> LoadCorpus(string testDataFolder)
    {
        var files = Directory.EnumerateFiles(Path.Combine(testDataFolder, "hl7v2"), "*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(testDataFolder, "cda"), "*", SearchOption.AllDirectories))
            .Where(f => !f.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(testDataFolder, f), File.ReadAllBytes(f)))
            .ToList();
        return files;
    }

    /// <summary>Input number <paramref name="index"/>: the same index and seed always give the same bytes.</summary>
    public (string Description, byte[] Bytes) Input(int index)
    {
        // Not HashCode.Combine: it is salted per process, and an input must be the same in every run.
        var random = new Random(unchecked((_seed * 1_000_003) ^ index));
        // Four inputs in five start from a small file (under 20 KB): the big CDA documents cost a
        // millisecond each to map, and every file still comes up thousands of times in 100,000 inputs.
        var pool = random.Next(5) > 0 && _small.Count > 0 ? _small : _seeds;
        var (name, original) = pool[random.Next(pool.Count)];
        var bytes = original;
        var steps = new List<string>();
        var count = 1 + random.Next(3);
        for (var i = 0; i < count; i++)
        {
            var (step, mutated) = Mutate(bytes, random);
            steps.Add(step);
            bytes = mutated;
        }
        return ($"{name} [{string.Join(", ", steps)}]", bytes);
    }

    private static (string, byte[]) Mutate(byte[] input, Random random)
    {
        if (input.Length == 0)
            return ("junk", RandomBytes(random, 1 + random.Next(64)));
        switch (random.Next(9))
        {
            case 0:
            {
                var copy = (byte[])input.Clone();
                var flips = 1 + random.Next(8);
                for (var i = 0; i < flips; i++)
                    copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                return ($"flip {flips} bits", copy);
            }
            case 1:
            {
                var at = random.Next(input.Length);
                return ($"truncate at {at}", input[..at]);
            }
            case 2:
            {
                // Swap one kind of delimiter for another everywhere after a point (MSH-2 included when early).
                var from = Delimiters[random.Next(Delimiters.Length)];
                var to = Delimiters[random.Next(Delimiters.Length)];
                var start = random.Next(Math.Min(input.Length, 12));
                var copy = (byte[])input.Clone();
                for (var i = start; i < copy.Length; i++)
                    if (copy[i] == from)
                        copy[i] = to;
                return ($"swap '{(char)from}'→'{(char)to}' from {start}", copy);
            }
            case 3:
            {
                // Re-encode: UTF-8 text written as Latin-1, or Latin-1 bytes read as UTF-8 and written as UTF-16.
                var text = Encoding.UTF8.GetString(input);
                return random.Next(3) switch
                {
                    0 => ("as latin-1", Encoding.Latin1.GetBytes(text)),
                    1 => ("as utf-16", Encoding.Unicode.GetBytes(text)),
                    _ => ("declare charset", Encoding.UTF8.GetBytes(text.Replace("UNICODE UTF-8", "8859/1", StringComparison.Ordinal)
                        .Replace("8859/1", random.Next(2) == 0 ? "UNICODE UTF-8" : "ISO IR87", StringComparison.Ordinal))),
                };
            }
            case 4:
            {
                var at = random.Next(input.Length + 1);
                var junk = random.Next(2) == 0
                    ? RandomBytes(random, 1 + random.Next(32))
                    : Encoding.ASCII.GetBytes(random.Next(4) switch { 0 => "\\X", 1 => "\\", 2 => "<!DOCTYPE x [<!ENTITY e \"e\">]>", _ => "&#x0;" });
                return ($"insert {junk.Length} bytes at {at}", [.. input[..at], .. junk, .. input[at..]]);
            }
            case 5:
            {
                // Remove or duplicate one segment (HL7) / one line (XML).
                var lines = Split(input);
                if (lines.Count < 2)
                    return ("truncate to half", input[..(input.Length / 2)]);
                var which = random.Next(lines.Count);
                if (random.Next(2) == 0)
                    lines.RemoveAt(which);
                else
                    lines.Insert(which, lines[which]);
                return ($"remove/duplicate segment {which}", Join(lines));
            }
            case 6:
            {
                var copy = (byte[])input.Clone();
                for (var i = 0; i < copy.Length; i++)
                    if (copy[i] == (byte)'\r')
                        copy[i] = (byte)'\n';
                return ("CR to LF", copy);
            }
            case 7:
            {
                // A huge field: repeat a slice many times.
                var at = random.Next(input.Length);
                var slice = input[at..Math.Min(input.Length, at + 1 + random.Next(16))];
                var repeated = Enumerable.Repeat(slice, 200 + random.Next(2000)).SelectMany(s => s).ToArray();
                return ($"repeat {slice.Length} bytes", [.. input[..at], .. repeated, .. input[at..]]);
            }
            default:
            {
                var copy = (byte[])input.Clone();
                var at = random.Next(copy.Length);
                copy[at] = (byte)random.Next(256);
                return ($"set byte {at}", copy);
            }
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static List<byte[]> Split(byte[] input)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] is (byte)'\r' or (byte)'\n')
            {
                lines.Add(input[start..(i + 1)]);
                start = i + 1;
            }
        }
        if (start < input.Length)
            lines.Add(input[start..]);
        return lines;
    }

    private static byte[] Join(List<byte[]> lines) => lines.SelectMany(l => l).ToArray();
}
