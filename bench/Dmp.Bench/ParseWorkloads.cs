using Dmp.Mapping.Hl7v2;

namespace Dmp.Bench;

/// <summary>
/// One parse as the comparison counts it: read the message and take PID-3 and PID-5 as strings, so neither parser
/// can skip the work it defers. Each returns the strings' lengths, which callers add into a sink.
/// </summary>
public static class ParseWorkloads
{
    // Precompiled paths: what a mapping engine holds; the split baseline indexes arrays directly.
    private static readonly Hl7Path Pid3 = Hl7Path.Parse("PID-3");
    private static readonly Hl7Path Pid5 = Hl7Path.Parse("PID-5");

    public static int Ours(byte[] bytes)
    {
        var result = Hl7Message.Parse(bytes);
        if (!result.Success)
            throw new InvalidOperationException("benchmark message does not parse: " + result.Error);
        var message = result.Message;
        return (message.Get(Pid3)?.Length ?? 0) + (message.Get(Pid5)?.Length ?? 0);
    }

    public static int Split(byte[] bytes)
    {
        var message = SplitMessage.Parse(bytes);
        return (message.Get("PID", 3)?.Length ?? 0) + (message.Get("PID", 5)?.Length ?? 0);
    }
}
