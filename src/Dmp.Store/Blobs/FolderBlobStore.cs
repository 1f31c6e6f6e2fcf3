using System.Runtime.InteropServices;

namespace Dmp.Store.Blobs;

/// <summary>
/// Blobs as files <c>&lt;root&gt;/ab/cd/abcd…</c>, written once: temporary file, fsync, atomic
/// rename, then fsync of the folder so the new name survives a crash too.
/// </summary>
public sealed partial class FolderBlobStore : IBlobStore
{
    private const string TempSuffix = ".tmp";

    public FolderBlobStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        PrivateFiles.CreateFolder(Root);
    }

    public string Root { get; }

    public async Task<string> PutAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var key = BlobKey.Of(bytes.Span);
        var path = PathOf(key);
        if (File.Exists(path))
        {
            return key;
        }

        var folder = Path.GetDirectoryName(path)!;
        var parent = Path.GetDirectoryName(folder)!;
        var createdParent = !Directory.Exists(parent);
        var createdFolder = !Directory.Exists(folder);
        PrivateFiles.CreateFolder(folder);

        var temp = Path.Combine(folder, $".{key}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            var stream = new FileStream(temp, PrivateFiles.NewFile(FileAccess.Write, FileOptions.Asynchronous, bytes.Length));
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another writer stored the same content first: same key, same bytes.
                return key;
            }

            SyncDirectory(folder);
            if (createdFolder)
            {
                SyncDirectory(parent);
            }

            if (createdParent)
            {
                SyncDirectory(Root);
            }

            return key;
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllBytesAsync(PathOf(BlobKey.Validated(key)), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(BlobKey.Validated(key));
        if (!File.Exists(path))
        {
            return Task.FromResult(false);
        }

        File.Delete(path);
        SyncDirectory(Path.GetDirectoryName(path)!);
        return Task.FromResult(true);
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(File.Exists(PathOf(BlobKey.Validated(key))));
    }

    internal string PathOf(string key) => Path.Combine(Root, key[..2], key[2..4], key);

    private static void SyncDirectory(string path)
    {
        // Windows has no directory fsync (and NTFS journals renames); .NET cannot open a folder as a stream.
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Open(path, OpenReadOnly);
        if (fd < 0)
        {
            throw new IOException($"Cannot open folder {path} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"fsync of folder {path} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    // O_RDONLY is 0 everywhere; O_DIRECTORY and O_CLOEXEC differ by OS and CPU, so they are left out.
    private const int OpenReadOnly = 0;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
