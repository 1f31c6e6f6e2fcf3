using Dmp.Store.Retention;

namespace Dmp.Store.Tests;

public sealed class RetentionOptionsTests
{
    [Fact]
    public void Retention_is_off_by_default_and_the_defaults_are_valid()
    {
        var options = new RetentionOptions();

        Assert.Equal(0, options.RawDays);
        Assert.Equal(60, options.IntervalMinutes);
        Assert.Equal(500, options.BatchSize);
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData(-1, 60, 500, "Dmp:Retention:RawDays")]
    [InlineData(30, 0, 500, "Dmp:Retention:IntervalMinutes")]
    [InlineData(30, 60, 0, "Dmp:Retention:BatchSize")]
    [InlineData(30, 60, 10_001, "Dmp:Retention:BatchSize")]
    public void A_wrong_value_is_refused_naming_the_setting(int rawDays, int intervalMinutes, int batchSize, string key)
    {
        var errors = new RetentionOptions { RawDays = rawDays, IntervalMinutes = intervalMinutes, BatchSize = batchSize }.Validate();

        Assert.Contains(errors, e => e.StartsWith(key + "=", StringComparison.Ordinal));
        Assert.Single(errors);
    }
}
