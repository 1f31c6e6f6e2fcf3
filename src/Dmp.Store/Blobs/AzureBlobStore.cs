using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Dmp.Store.Blobs;

/// <summary>
/// Blobs in an Azure Blob Storage container (Azurite locally), content-addressed and written once:
/// an upload that finds the name taken is the same content stored before.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    public const string DefaultContainer = "dmp-ingest";
    private readonly BlobContainerClient _container;
    private readonly SemaphoreSlim _created = new(1, 1);
    private volatile bool _exists;

    public AzureBlobStore(string connectionString, string container = DefaultContainer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        // Pinned so the service version is one Azurite and older accounts accept.
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_01_05);
        options.Retry.MaxRetries = 3;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        _container = new BlobContainerClient(connectionString, container, options);
    }

    public string Container => _container.Name;

    public async Task<string> PutAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var key = BlobKey.Of(bytes.Span);
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var blob = _container.GetBlobClient(Name(key));
        try
        {
            // If-None-Match: * makes the upload write-once; a 409 means the same bytes are there.
            await blob.UploadAsync(BinaryData.FromBytes(bytes), new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
        }

        return key;
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(Name(BlobKey.Validated(key)));
        try
        {
            var content = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            return content.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var response = await _container.GetBlobClient(Name(BlobKey.Validated(key)))
            .DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Value;
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _container.GetBlobClient(Name(BlobKey.Validated(key))).ExistsAsync(cancellationToken).ConfigureAwait(false);
            return response.Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    private static string Name(string key) => $"{key[..2]}/{key[2..4]}/{key}";

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_exists)
            return;
        await _created.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_exists)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _exists = true;
            }
        }
        finally
        {
            _created.Release();
        }
    }
}
