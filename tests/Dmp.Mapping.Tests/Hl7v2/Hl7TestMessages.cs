using System.Text;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Mapping.Tests.Hl7v2;

/// <summary>Builds test inputs: text with segments on separate lines becomes CR-terminated bytes.</summary>
internal static class Hl7TestMessages
{
    public const string AdtHeader = "MSH|^~\\&|GAM|CHU-X|DPI|CHU-X|20240306111154||ADT^A01^ADT_A01|3975|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM";

    /// <summary>Joins lines with CR and ends with CR, encoded as UTF-8.</summary>
    public static byte[] Cr(params string[] segments) => Encoding.UTF8.GetBytes(string.Join('\r', segments) + "\r");

    public static Hl7Message Parse(byte[] bytes)
    {
        var result = Hl7Message.Parse(bytes);
        Assert.True(result.Success, result.Error?.ToString());
        return result.Message!;
    }

    public static Hl7Message Parse(params string[] segments) => Parse(Cr(segments));

    public static Hl7Error ParseError(byte[] bytes)
    {
        var result = Hl7Message.Parse(bytes);
        Assert.False(result.Success);
        Assert.Null(result.Message);
        return result.Error!.Value;
    }
}
