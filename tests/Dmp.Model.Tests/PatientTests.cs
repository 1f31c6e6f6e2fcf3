using Dmp.Model;

namespace Dmp.Model.Tests;

public sealed class PatientTests
{
    private static readonly Identifier Ins = new(Oids.InsNir, "279035121518989");

    [Theory]
    [InlineData("VALI", true)]
    [InlineData("QUAL", true)]
    [InlineData("PROV", false)]
    [InlineData("VIDE", false)]
    [InlineData("DOUT", false)]
    [InlineData("FICT", false)]
    [InlineData(null, false)]
    public void Only_a_validated_or_qualified_identity_with_an_ins_is_qualified(string? status, bool qualified)
    {
        var patient = new Patient { Ins = Ins, IdentityStatus = status };

        Assert.Equal(qualified, patient.IsQualified);
    }

    [Fact]
    public void A_validated_status_without_an_ins_is_not_qualified()
    {
        Assert.False(new Patient { IdentityStatus = "VALI" }.IsQualified);
    }

    [Theory]
    [InlineData("1.2.250.1.213.1.4.8", true)]
    [InlineData("1.2.250.1.213.1.4.9", true)]
    [InlineData("1.2.250.1.213.1.4.10", true)]
    [InlineData("1.2.250.1.213.1.4.11", true)]
    [InlineData("1.2.250.1.213.1.4.2", false)]
    [InlineData("1.2.250.1.71.4.2.1", false)]
    [InlineData(null, false)]
    public void The_ins_systems_are_the_four_ins_oids(string? oid, bool isIns)
    {
        Assert.Equal(isIns, Oids.IsIns(oid));
    }

    [Fact]
    public void The_rpps_oid_is_written_as_an_oid_uri()
    {
        Assert.Equal("urn:oid:1.2.250.1.71.4.2.1", Oids.ToUri(Oids.Rpps));
    }
}
