using System.Text;

namespace Dmp.Store.Tests;

/// <summary>The store's files are its account's alone: new folders 0700, the SQLite database with its WAL and the blobs 0600.</summary>
public sealed class PrivateFilesTests
{
    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public async Task A_new_store_creates_its_folders_0700_and_its_files_0600()
    {
        if (OperatingSystem.IsWindows())
            return;
        using var temp = new TempFolder();
        var data = Path.Combine(temp.Path, "a", "b");
        await using (var store = await DmpStore.OpenAsync(new StoreOptions(), new BlobOptions(), data, CancellationToken.None))
        {
            var key = await store.Blobs.PutAsync(Encoding.UTF8.GetBytes("private bytes"), CancellationToken.None);
            // The -wal and -shm files live while a connection is open (the last one to close removes them).
            await using var connection = await store.Connections.OpenAsync(CancellationToken.None);
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT COUNT(*) FROM sqlite_master";
                await command.ExecuteScalarAsync();
            }

            Assert.Equal(Folder, File.GetUnixFileMode(Path.Combine(temp.Path, "a")));
            Assert.Equal(Folder, File.GetUnixFileMode(data));
            Assert.Equal(Folder, File.GetUnixFileMode(Path.Combine(data, "blobs", key[..2])));
            Assert.Equal(Folder, File.GetUnixFileMode(Path.Combine(data, "blobs", key[..2], key[2..4])));
            Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(data, "blobs", key[..2], key[2..4], key)));
            Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(data, "dmp.db")));
            Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(data, "dmp.db-wal")));
            Assert.Equal(File600, File.GetUnixFileMode(Path.Combine(data, "dmp.db-shm")));
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void An_existing_folder_keeps_its_mode_and_is_reported_open_to_others()
    {
        if (OperatingSystem.IsWindows())
            return;
        using var temp = new TempFolder();
        const UnixFileMode open = Folder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(temp.Path, open);

        PrivateFiles.CreateFolder(temp.Path);

        Assert.Equal(open, File.GetUnixFileMode(temp.Path));
        Assert.True(PrivateFiles.OpenToOthers(temp.Path));
        File.SetUnixFileMode(temp.Path, Folder);
        Assert.False(PrivateFiles.OpenToOthers(temp.Path));
    }
}
