using System.Text;
using Dmp.Ingest.Worker.Operator;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Operator;

/// <summary>The identifiers a message names, read from PID-3 when mapping could not give them.</summary>
public sealed class NamedPatientsTests
{
    [Fact]
    public void Pid3_gives_the_ins_and_the_local_identifiers_with_the_systems_the_dossier_uses()
    {
        var named = NamedPatients.Read(Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7"));

        Assert.NotNull(named);
        Assert.Contains(named, i => i.System == "1.2.250.1.213.1.4.10" && i.Value == "279035121518989");
        Assert.Contains(named, i => i.System == "CHU-X" && i.Value == "000003");
    }

    [Fact]
    public void Each_message_of_a_batch_is_read_and_unreadable_input_names_nobody()
    {
        var batch = "FHS|^~\\&\rBHS|^~\\&\r" + Encoding.ASCII.GetString(Hl7Samples.Adt("B1")) + Encoding.ASCII.GetString(Hl7Samples.Adt("B2", family: "MARTIN")).Replace("123456^", "654321^", StringComparison.Ordinal) + "BTS|2\rFTS|1\r";

        var named = NamedPatients.Read(Encoding.ASCII.GetBytes(batch));

        Assert.Equal(["123456", "654321"], named!.Select(i => i.Value).Order(StringComparer.Ordinal));
        Assert.Null(NamedPatients.Read("not hl7"u8.ToArray()));
        Assert.Null(NamedPatients.Read(Hl7Samples.Adt("NOPID", withPid: false)));
        Assert.Null(NamedPatients.Read("<ClinicalDocument/>"u8.ToArray()));
    }
}
