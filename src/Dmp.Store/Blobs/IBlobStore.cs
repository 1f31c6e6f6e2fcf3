namespace Dmp.Store.Blobs;

/// <summary>
/// Content-addressed, write-once storage for large payloads: the key is the lowercase hex SHA-256
/// of the bytes, so putting the same bytes twice stores them once.
/// </summary>
public interface IBlobStore
{
    /// <summary>Stores the bytes durably (when this returns, they survive a crash) and returns their key.</summary>
    Task<string> PutAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>The bytes stored under the key, or null when there are none.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Removes the bytes; false when there were none.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken);
}
