using Dmp.Mapping.Rules;

namespace Dmp.Mapping.Tests.Rules;

/// <summary>OBX-7 reference ranges as senders write them, including the blank and one-character ones fuzzing found.</summary>
public sealed class ObservationRangeTests
{
    [Theory]
    [InlineData("3.5-5.0", "3.5", "5.0")]
    [InlineData("-2-2", "-2", "2")]
    [InlineData("<5", null, "5")]
    [InlineData(">=10", "10", null)]
    [InlineData(" ", null, null)]
    [InlineData("", null, null)]
    [InlineData("-", null, null)]
    [InlineData("7", null, null)]
    [InlineData("négatif", null, null)]
    public void A_range_keeps_its_text_and_reads_its_bounds_when_they_are_numbers(string text, string? low, string? high)
    {
        var range = ObservationValues.Range(text);

        Assert.Equal(text, range.Text);
        Assert.Equal(low is null ? null : decimal.Parse(low, System.Globalization.CultureInfo.InvariantCulture), range.Low);
        Assert.Equal(high is null ? null : decimal.Parse(high, System.Globalization.CultureInfo.InvariantCulture), range.High);
    }
}
