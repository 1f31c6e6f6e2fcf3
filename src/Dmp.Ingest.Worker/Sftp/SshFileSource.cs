using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Dmp.Ingest.Worker.Sftp;

/// <summary>
/// An SFTP session (SSH.NET) with public-key authentication and a pinned host key: any other host key
/// ends the handshake before anything is sent or read.
/// </summary>
public sealed class SshFileSource : IFileSource
{
    private readonly SftpClient _client;
    private readonly PrivateKeyFile _key;

    private SshFileSource(SftpClient client, PrivateKeyFile key, string endpoint)
    {
        _client = client;
        _key = key;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public static async Task<IFileSource> ConnectAsync(FileSourceOptions source, ILogger logger, CancellationToken cancellationToken)
    {
        var endpoint = $"sftp://{source.Host}:{source.Port}";
        var key = new PrivateKeyFile(source.PrivateKeyPath!);
        var connection = new Renci.SshNet.ConnectionInfo(source.Host!, source.Port, source.User!, new PrivateKeyAuthenticationMethod(source.User!, key))
        {
            Timeout = TimeSpan.FromSeconds(source.ConnectTimeoutSeconds),
        };
        var client = new SftpClient(connection);
        var pinned = FileSourceOptions.NormalizeFingerprint(source.HostKeySha256!);
        string? offered = null;
        client.HostKeyReceived += (_, e) =>
        {
            offered = e.FingerPrintSHA256;
            e.CanTrust = string.Equals(e.FingerPrintSHA256, pinned, StringComparison.Ordinal);
            if (!e.CanTrust)
            {
                logger.LogError(
                    "SFTP source {Source}: host key of {Endpoint} refused: it is {HostKeyName} SHA256:{Offered}, the pinned key (HostKeySha256) is SHA256:{Pinned}; nothing was read. If the server's key really changed, update Dmp:Sftp:Sources:N:HostKeySha256",
                    source.Name, endpoint, e.HostKeyName, e.FingerPrintSHA256, pinned);
            }
        };
        try
        {
            await client.ConnectAsync(cancellationToken);
        }
        catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or TimeoutException or IOException)
        {
            client.Dispose();
            key.Dispose();
            if (offered is not null && !string.Equals(offered, pinned, StringComparison.Ordinal))
                throw new FileSourceRefusedException($"host key of {endpoint} (SHA256:{offered}) is not the pinned one (SHA256:{pinned})", e);
            if (e is SshAuthenticationException)
                throw new FileSourceRefusedException($"authentication of user {source.User} at {endpoint} with the configured private key was refused", e);
            throw new FileSourceRefusedException($"cannot connect to {endpoint}: {e.GetType().Name}: {e.Message}", e);
        }
        return new SshFileSource(client, key, endpoint);
    }

    public async Task<IReadOnlyList<SourceFile>> ListAsync(string folder, CancellationToken cancellationToken)
    {
        var files = new List<SourceFile>();
        await foreach (var entry in _client.ListDirectoryAsync(folder, cancellationToken))
        {
            if (entry.IsRegularFile)
                files.Add(new SourceFile(entry.Name, SourcePath.Combine(folder, entry.Name), entry.Length, entry.LastWriteTimeUtc));
        }
        return files;
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken) => _client.ExistsAsync(path, cancellationToken);

    public async Task<byte[]> ReadAsync(string path, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await _client.DownloadFileAsync(path, buffer, cancellationToken);
        return buffer.ToArray();
    }

    public async Task WriteTextAsync(string path, string text, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(Encoding.UTF8.GetBytes(text));
        await _client.UploadFileAsync(content, path, cancellationToken);
    }

    public async Task EnsureFolderAsync(string folder, CancellationToken cancellationToken)
    {
        if (!await _client.ExistsAsync(folder, cancellationToken))
            await _client.CreateDirectoryAsync(folder, cancellationToken);
    }

    public Task MoveAsync(string from, string to, CancellationToken cancellationToken) => _client.RenameFileAsync(from, to, cancellationToken);

    public Task DeleteAsync(string path, CancellationToken cancellationToken) => _client.DeleteFileAsync(path, cancellationToken);

    public ValueTask DisposeAsync()
    {
        try
        {
            if (_client.IsConnected)
                _client.Disconnect();
        }
        catch (SshException)
        {
            // the session is going away anyway
        }
        _client.Dispose();
        _key.Dispose();
        return ValueTask.CompletedTask;
    }
}
