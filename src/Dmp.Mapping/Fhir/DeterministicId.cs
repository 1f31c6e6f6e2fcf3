using System.Security.Cryptography;
using System.Text;

namespace Dmp.Mapping.Fhir;

/// <summary>
/// Resource ids derived from source identifiers, so mapping the same message twice gives the same
/// output (a name-based UUID over SHA-256 of the parts).
/// </summary>
public static class DeterministicId
{
    public static string From(params string?[] parts)
    {
        var text = string.Join('\u001f', parts.Select(p => p ?? ""));
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        // RFC 9562 layout: version 8 (custom), variant 10.
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true).ToString("D");
    }
}
