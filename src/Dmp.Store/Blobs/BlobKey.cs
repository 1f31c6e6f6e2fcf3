using System.Security.Cryptography;

namespace Dmp.Store.Blobs;

/// <summary>Blob keys: the lowercase hex SHA-256 of the content.</summary>
public static class BlobKey
{
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static bool IsValid(string? key) =>
        key is { Length: 64 } && key.AsSpan().ContainsAnyExcept("0123456789abcdef") is false;

    internal static string Validated(string key) =>
        IsValid(key) ? key : throw new ArgumentException("A blob key is 64 lowercase hex characters.", nameof(key));
}
