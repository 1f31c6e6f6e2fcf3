using Dmp.Ingest.Worker.Hosting;
using Dmp.Ingest.Worker.Pipeline;
using Microsoft.Extensions.Configuration;

namespace Dmp.Ingest.Worker.Tests.Pipeline;

/// <summary>When processing waits for the intake: the rule alone, on a clock the test moves.</summary>
public sealed class IntakePressureTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void A_stream_below_the_threshold_is_never_deferred_and_one_above_is_from_its_first_full_window()
    {
        var pressure = new IntakePressure(1500, TimeSpan.FromSeconds(10));
        long arrivals = 0;
        // 1,000 a second for two seconds, looked at every 20 ms.
        for (var t = 0; t <= 2000; t += 20)
        {
            Assert.False(pressure.ShouldDefer(arrivals, Ms(t)), $"deferred at {t} ms with {pressure.Rate}/s");
            arrivals += 20;
        }
        Assert.InRange(pressure.Rate, 990, 1010);

        // Then 4,000 a second: deferred once a window of 100 ms has seen it, not before.
        var deferredAt = -1;
        for (var t = 2020; t <= 2400; t += 20)
        {
            arrivals += 80;
            if (pressure.ShouldDefer(arrivals, Ms(t)) && deferredAt < 0)
                deferredAt = t;
        }
        Assert.InRange(deferredAt, 2100, 2200);
        Assert.True(pressure.Rate > 1500);

        // The burst ends: processing goes on at the next window.
        var resumedAt = -1;
        for (var t = 2420; t <= 2700 && resumedAt < 0; t += 20)
        {
            if (!pressure.ShouldDefer(arrivals, Ms(t)))
                resumedAt = t;
        }
        Assert.InRange(resumedAt, 2420, 2600);
        Assert.Equal(0, pressure.Rate);
    }

    [Fact]
    public void After_the_longest_wait_processing_works_until_caught_up_and_only_then_may_wait_again()
    {
        var pressure = new IntakePressure(100, TimeSpan.FromSeconds(1));
        long arrivals = 0;
        var t = 0.0;
        bool Step(int perWindow)
        {
            t += 100;
            arrivals += perWindow;
            return pressure.ShouldDefer(arrivals, Ms(t));
        }

        Step(50);
        Assert.True(Step(50));   // 500/s: deferred from here
        var deferredFor = 0;
        while (Step(50) && deferredFor < 100)
            deferredFor++;
        // About one second of 100-ms looks, then no more waiting while the stream goes on.
        Assert.InRange(deferredFor, 8, 11);
        Assert.True(pressure.CatchingUp);
        for (var i = 0; i < 30; i++)
            Assert.False(Step(50), "waited again before the backlog was worked through");

        pressure.CaughtUp();
        Assert.False(pressure.CatchingUp);
        Assert.True(Step(50), "the next burst is deferred again once caught up");
    }

    [Fact]
    public void Zero_never_defers()
    {
        var pressure = new IntakePressure(0, TimeSpan.FromSeconds(10));
        long arrivals = 0;
        for (var t = 0; t < 1000; t += 10)
            Assert.False(pressure.ShouldDefer(arrivals += 1000, Ms(t)));
        Assert.True(pressure.Rate > 50_000);
    }

    [Theory]
    [InlineData("-1", "10", "Dmp:Processing:DeferAbovePerSecond is -1")]
    [InlineData("1500", "301", "Dmp:Processing:MaxDeferSeconds is 301")]
    [InlineData("1500", "-2", "Dmp:Processing:MaxDeferSeconds is -2")]
    public void Settings_out_of_range_are_named_with_their_value(string rate, string seconds, string expected)
    {
        var options = new ProcessingOptions
        {
            DeferAbovePerSecond = double.Parse(rate, System.Globalization.CultureInfo.InvariantCulture),
            MaxDeferSeconds = double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture),
        };
        Assert.Contains(options.Validate(), f => f.StartsWith(expected, StringComparison.Ordinal));
        Assert.Empty(new ProcessingOptions().Validate());
    }

    [Fact]
    public void A_value_that_is_not_a_number_is_one_line_naming_the_key_before_the_host_binds_it()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dmp:Processing:DeferAbovePerSecond"] = "fast",
        }).Build();

        var problem = Assert.Single(SettingsCheck.Problems(configuration));
        Assert.StartsWith("Dmp:Processing:DeferAbovePerSecond is 'fast'", problem, StringComparison.Ordinal);
    }
}
