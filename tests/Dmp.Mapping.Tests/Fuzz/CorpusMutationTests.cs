using System.Diagnostics;
using System.Globalization;
using Dmp.Mapping.Hl7v2;
using Dmp.Mapping.Tests.Rules;

namespace Dmp.Mapping.Tests.Fuzz;

/// <summary>
/// Mutation fuzzing of the public corpus through the reader and the mapping with the shipped rules:
/// 100,000 inputs (1,000,000 with DMP_TEST_LONG=1); none may throw or hang. A failure names the seed
/// and the input number, which reproduce it (DMP_FUZZ_SEED, <see cref="CorpusMutations.Input"/>).
/// </summary>
[Trait("Tier", "Slow")]
public sealed class CorpusMutationTests
{
    private static readonly TimeSpan PerInputLimit = TimeSpan.FromSeconds(20);

    private static int Count =>
        int.TryParse(Environment.GetEnvironmentVariable("DMP_FUZZ_COUNT"), CultureInfo.InvariantCulture, out var n) ? n
        : Environment.GetEnvironmentVariable("DMP_TEST_LONG") == "1" ? 1_000_000 : 100_000;

    private static int Seed =>
        int.TryParse(Environment.GetEnvironmentVariable("DMP_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 20261130;

    [Fact]
    public void Mutated_corpus_inputs_never_throw_or_hang_in_the_reader_and_the_mapping()
    {
        var corpus = CorpusMutations.LoadCorpus(RulesTestSupport.TestData());
        Assert.True(corpus.Count > 50, $"only {corpus.Count} corpus files found");
        var mutations = new CorpusMutations(corpus, Seed);
        var rules = RulesTestSupport.Rules;
        var count = Count;

        var current = -1;
        var mapped = 0;
        var refused = 0;
        Exception? failure = null;
        var failedInput = "";
        var worker = new Thread(() =>
        {
            for (var i = 0; i < count; i++)
            {
                var (description, bytes) = mutations.Input(i);
                Volatile.Write(ref current, i);
                try
                {
                    // The reader alone, then the whole mapping (which reads again, by content).
                    var parsed = Hl7Message.Parse(bytes);
                    if (parsed.Message is { } message)
                        _ = message.GetSegment(0).GetField(9).Value;
                    var result = InboundMapper.Map(bytes, "fuzz", rules);
                    Assert.True((result.Bundle is null) != (result.Error is null), "a map result is either a Bundle or an error");
                    if (result.Error is { } error)
                    {
                        Assert.False(string.IsNullOrWhiteSpace(error.Reason), "an error says why");
                        refused++;
                    }
                    else
                    {
                        mapped++;
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                    failedInput = $"input {i} (seed {Seed}): {description}";
                    return;
                }
            }
            Volatile.Write(ref current, count);
        }, maxStackSize: 16 * 1024 * 1024) { IsBackground = true, Name = "fuzz" };

        worker.Start();
        var last = -1;
        var since = Stopwatch.StartNew();
        while (!worker.Join(TimeSpan.FromMilliseconds(500)))
        {
            var now = Volatile.Read(ref current);
            if (now != last)
            {
                last = now;
                since.Restart();
            }
            else if (since.Elapsed > PerInputLimit)
            {
                var (description, _) = mutations.Input(now);
                Assert.Fail($"input {now} (seed {Seed}) did not finish within {PerInputLimit.TotalSeconds} s: {description}");
            }
        }

        Assert.True(failure is null, $"{failedInput} threw {failure}");
        Assert.Equal(count, Volatile.Read(ref current));
        Assert.Equal(count, mapped + refused);
        // The mutations must exercise both sides: inputs that still map and inputs refused with a reason.
        Assert.True(mapped > count / 20, $"only {mapped} of {count} mutated inputs still mapped");
        Assert.True(refused > count / 20, $"only {refused} of {count} mutated inputs were refused");
    }
}
