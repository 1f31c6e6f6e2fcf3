using System.Text;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7BatchTests
{
    private static byte[] Lines(string eol, params string[] lines) => Encoding.UTF8.GetBytes(string.Join(eol, lines) + eol);

    private static string Text(ReadOnlyMemory<byte> m) => Encoding.UTF8.GetString(m.Span);

    [Fact]
    public void Batch_envelope_yields_its_messages_without_envelope_segments()
    {
        var r = Hl7Batch.Split(Lines("\r",
            "FHS|^~\\&|LAB|FAC",
            "BHS|^~\\&|LAB|FAC",
            "MSH|^~\\&|LAB|FAC|||20240101||ORU^R01|1|P|2.5.1",
            "PID|1||A",
            "MSH|^~\\&|LAB|FAC|||20240101||ORU^R01|2|P|2.5.1",
            "PID|1||B",
            "BTS|2",
            "FTS|1"));
        Assert.True(r.Success);
        Assert.Equal(2, r.Messages.Count);
        Assert.Equal("MSH|^~\\&|LAB|FAC|||20240101||ORU^R01|1|P|2.5.1\rPID|1||A\r", Text(r.Messages[0]));
        Assert.StartsWith("MSH", Text(r.Messages[1]));
        Assert.Equal("FHS|^~\\&|LAB|FAC", Text(r.FileHeader!.Value));
        Assert.Equal("BHS|^~\\&|LAB|FAC", Text(r.BatchHeader!.Value));
        Assert.Equal("BTS|2", Text(r.BatchTrailer!.Value));
        Assert.Equal("FTS|1", Text(r.FileTrailer!.Value));
        Assert.Equal(1, r.BatchCount);
        Assert.Empty(r.Warnings);
        Assert.All(r.Messages, m => Assert.True(Hl7Message.Parse(m).Success));
        Assert.Equal("B", Hl7Message.Parse(r.Messages[1]).Message!.Get("PID-3"));
    }

    [Fact]
    public void Batch_count_mismatch_is_a_warning()
    {
        var r = Hl7Batch.Split(Lines("\n", "BHS|^~\\&|A", "MSH|^~\\&|A", "PID|1", "BTS|3", "FTS|2"));
        Assert.True(r.Success);
        Assert.Single(r.Messages);
        Assert.Equal(2, r.Warnings.Count);
        Assert.Contains(r.Warnings, w => w.Contains("BTS", StringComparison.Ordinal) && w.Contains("count 3", StringComparison.Ordinal));
        Assert.Contains(r.Warnings, w => w.Contains("FTS", StringComparison.Ordinal));
    }

    [Fact]
    public void Concatenated_messages_without_envelope_are_split_at_each_msh()
    {
        var r = Hl7Batch.Split(Lines("\r\n", "MSH|^~\\&|A|||||||1", "PID|1", "", "MSH|^~\\&|B|||||||2", "PID|2", "MSH|^~\\&|C|||||||3"));
        Assert.True(r.Success);
        Assert.Equal(3, r.Messages.Count);
        Assert.Equal("MSH|^~\\&|A|||||||1\r\nPID|1\r\n", Text(r.Messages[0]));
        Assert.Null(r.FileHeader);
        Assert.Null(r.BatchHeader);
        Assert.Equal(["1", "2", "3"], r.Messages.Select(m => Hl7Message.Parse(m).Message!.ControlId!).ToArray());
    }

    [Fact]
    public void Single_message_is_one_slice()
    {
        var bytes = Lines("\r", "MSH|^~\\&|A", "PID|1");
        var r = Hl7Batch.Split(bytes);
        Assert.Single(r.Messages);
        Assert.True(r.Messages[0].Span.SequenceEqual(bytes));
    }

    [Fact]
    public void Leading_bom_whitespace_and_mllp_bytes_are_skipped()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, 0x0B, (byte)' ', (byte)'\n', .. Lines("\r", "MSH|^~\\&|A", "PID|1"), 0x1C, 0x0D];
        var r = Hl7Batch.Split(bytes);
        Assert.True(r.Success);
        Assert.Single(r.Messages);
        Assert.StartsWith("MSH", Text(r.Messages[0]));
    }

    [Fact]
    public void Empty_input_is_an_empty_message_error()
    {
        Assert.Equal("empty message", Hl7Batch.Split(Array.Empty<byte>()).Error!.Value.Reason);
        Assert.Equal("empty message", Hl7Batch.Split("\r\n \n"u8.ToArray()).Error!.Value.Reason);
    }

    [Fact]
    public void Input_without_msh_is_an_error()
    {
        var r = Hl7Batch.Split(Lines("\r", "PID|1", "PV1|1"));
        Assert.False(r.Success);
        Assert.Empty(r.Messages);
        Assert.Equal("segment 1: no MSH segment", r.Error!.Value.ToString());
    }

    [Fact]
    public void Binary_garbage_is_not_hl7()
    {
        var r = Hl7Batch.Split(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0 });
        Assert.StartsWith("not HL7 v2:", r.Error!.Value.Reason);
    }

    [Fact]
    public void Envelope_with_no_message_is_an_empty_batch_with_a_warning()
    {
        var r = Hl7Batch.Split(Lines("\r", "FHS|^~\\&|A", "BHS|^~\\&|A", "BTS|0", "FTS|1"));
        Assert.True(r.Success);
        Assert.Empty(r.Messages);
        Assert.Contains("the batch holds no message", r.Warnings);
    }

    [Fact]
    public void Several_batches_in_one_file_are_counted()
    {
        var r = Hl7Batch.Split(Lines("\n", "FHS|^~\\&|A", "BHS|^~\\&|A", "MSH|^~\\&|A", "BTS|1", "BHS|^~\\&|A", "MSH|^~\\&|B", "MSH|^~\\&|C", "BTS|2", "FTS|2"));
        Assert.Equal(3, r.Messages.Count);
        Assert.Equal(2, r.BatchCount);
        Assert.Empty(r.Warnings);
    }
}
