namespace Dmp.Ingest.Worker.Sftp;

/// <summary>A file in a source's folder, as listed.</summary>
/// <param name="Path">The full path in the source (what the inbox keeps as the message's file name).</param>
public sealed record SourceFile(string Name, string Path, long Size, DateTime LastWriteUtc);

/// <summary>
/// One open session on a file source (an SFTP connection, or a local folder): what the poller needs
/// and nothing more. Paths are the source's own (remote paths for SFTP).
/// </summary>
public interface IFileSource : IAsyncDisposable
{
    /// <summary>Where the source is, for logs and the inbox's remote endpoint (no credentials).</summary>
    string Endpoint { get; }

    /// <summary>The regular files directly in <paramref name="folder"/> (not its sub-folders).</summary>
    Task<IReadOnlyList<SourceFile>> ListAsync(string folder, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken);

    Task<byte[]> ReadAsync(string path, CancellationToken cancellationToken);

    /// <summary>Writes a small text file (a reason beside a file set aside), replacing any.</summary>
    Task WriteTextAsync(string path, string text, CancellationToken cancellationToken);

    /// <summary>Creates the folder when it does not exist.</summary>
    Task EnsureFolderAsync(string folder, CancellationToken cancellationToken);

    /// <summary>Renames; fails when <paramref name="to"/> exists (callers choose a free name first).</summary>
    Task MoveAsync(string from, string to, CancellationToken cancellationToken);

    Task DeleteAsync(string path, CancellationToken cancellationToken);
}

/// <summary>Opens a session on a configured source.</summary>
public interface IFileSourceFactory
{
    Task<IFileSource> OpenAsync(FileSourceOptions source, CancellationToken cancellationToken);
}

/// <summary>Thrown when a source cannot be opened for a reason an operator must fix (host key, credentials).</summary>
public sealed class FileSourceRefusedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The factory used by the gateway: SSH.NET for SFTP, the file system for drop folders.</summary>
public sealed class FileSourceFactory(ILoggerFactory loggers) : IFileSourceFactory
{
    public async Task<IFileSource> OpenAsync(FileSourceOptions source, CancellationToken cancellationToken) =>
        source.Kind switch
        {
            FileSourceKind.Folder => new FolderFileSource(source.Path!),
            _ => await SshFileSource.ConnectAsync(source, loggers.CreateLogger<SshFileSource>(), cancellationToken),
        };
}

/// <summary>Unix-style path joining, for remote paths and local ones alike.</summary>
internal static class SourcePath
{
    public static string Combine(string folder, string name) =>
        folder.Length == 0 || folder == "." ? name : folder.EndsWith('/') ? folder + name : folder + "/" + name;

    public static string FileName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }
}
