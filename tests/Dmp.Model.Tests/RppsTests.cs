using Dmp.Model;

namespace Dmp.Model.Tests;

public sealed class RppsTests
{
    [Theory]
    [InlineData("10001234567", "10001234567")]
    [InlineData("810001234567", "10001234567")]
    public void An_rpps_reads_alone_or_in_its_national_identifier_form(string text, string number)
    {
        Assert.True(Rpps.TryParse(text, out var rpps));
        Assert.Equal(number, rpps.Number);
        Assert.Equal("8" + number, rpps.Extension);
    }

    [Theory]
    [InlineData("1000123456")]
    [InlineData("910001234567")]
    [InlineData("1000123456X")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_else_is_not_an_rpps(string? text)
    {
        Assert.False(Rpps.TryParse(text, out _));
    }

    [Theory]
    [InlineData("810001234567", "10001234567")]
    [InlineData("10001234567", "10001234567")]
    [InlineData("ADELI-123", "ADELI-123")]
    public void The_dossier_keeps_the_number_or_the_identifier_as_written(string text, string kept)
    {
        Assert.Equal(kept, Rpps.Normalize(text));
    }

    [Fact]
    public void The_rpps_system_is_its_oid_as_a_uri()
    {
        Assert.Equal("urn:oid:1.2.250.1.71.4.2.1", Rpps.SystemUri);
        Assert.Equal(Oids.Rpps, Rpps.Oid);
    }
}
