namespace Dmp.Ingest.Worker.Sftp;

/// <summary>A local drop folder: the same poller, the file system instead of SSH.</summary>
public sealed class FolderFileSource(string root) : IFileSource
{
    public string Endpoint => "folder:" + System.IO.Path.GetFullPath(root);

    public Task<IReadOnlyList<SourceFile>> ListAsync(string folder, CancellationToken cancellationToken)
    {
        var dir = new DirectoryInfo(folder);
        IReadOnlyList<SourceFile> files = dir.Exists
            ? dir.EnumerateFiles().Select(f => new SourceFile(f.Name, SourcePath.Combine(folder, f.Name), f.Length, f.LastWriteTimeUtc)).ToList()
            : [];
        return Task.FromResult(files);
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken) =>
        Task.FromResult(File.Exists(path) || Directory.Exists(path));

    public Task<byte[]> ReadAsync(string path, CancellationToken cancellationToken) => File.ReadAllBytesAsync(path, cancellationToken);

    public Task WriteTextAsync(string path, string text, CancellationToken cancellationToken) =>
        File.WriteAllTextAsync(path, text, cancellationToken);

    public Task EnsureFolderAsync(string folder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        return Task.CompletedTask;
    }

    public Task MoveAsync(string from, string to, CancellationToken cancellationToken)
    {
        File.Move(from, to, overwrite: false);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        File.Delete(path);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
