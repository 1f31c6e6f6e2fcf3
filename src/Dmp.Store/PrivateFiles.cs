namespace Dmp.Store;

/// <summary>
/// The data the gateway writes is for its own account alone: the folders it creates are 0700 and the files 0600
/// (Unix; Windows folders inherit their parent's ACL). A folder or file that already exists keeps its mode: an operator
/// who opened it up on purpose is warned at start (<see cref="OpenToOthers"/>), not overruled.
/// </summary>
public static class PrivateFiles
{
    /// <summary>rwx for the owner only.</summary>
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner only.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode Others =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="path"/> and any missing parent as 0700; folders that exist are left as they are.</summary>
    public static DirectoryInfo CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
            return Directory.CreateDirectory(path);
        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only: each missing one is made in turn.
        var full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        for (var folder = full; !string.IsNullOrEmpty(folder) && !Directory.Exists(folder); folder = Path.GetDirectoryName(folder))
            missing.Push(folder);
        while (missing.TryPop(out var folder))
            Directory.CreateDirectory(folder, FolderMode);
        return new DirectoryInfo(full);
    }

    /// <summary>Options for a new file of the gateway's data: 0600 on Unix.</summary>
    public static FileStreamOptions NewFile(FileAccess access = FileAccess.Write, FileOptions options = FileOptions.None, long preallocationSize = 0)
    {
        var result = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = access, Share = FileShare.None, Options = options, PreallocationSize = preallocationSize };
        if (!OperatingSystem.IsWindows())
            result.UnixCreateMode = FileMode;
        return result;
    }

    /// <summary>
    /// Creates an empty file as 0600 when it does not exist yet (an SQLite database before SQLite creates it 0644: its
    /// -wal and -shm files then take the database's mode). Returns whether it created the file.
    /// </summary>
    public static bool CreateEmptyFile(string path)
    {
        if (File.Exists(path))
            return false;
        try
        {
            using var _ = new FileStream(path, NewFile());
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false; // created by another opener meanwhile
        }
    }

    /// <summary>True when a folder or file grants any permission to its group or to others (always false on Windows).</summary>
    public static bool OpenToOthers(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & Others) != 0;
}
