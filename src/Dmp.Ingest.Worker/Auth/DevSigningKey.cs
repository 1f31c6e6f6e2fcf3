using System.Security.Cryptography;
using System.Text;

namespace Dmp.Ingest.Worker.Auth;

/// <summary>
/// The HS256 key of development mode: `Dmp:Auth:SigningKey` as UTF-8 bytes, or 256 random bits kept in
/// `&lt;DataDir&gt;/dev-signing.key` so that `serve` and `token` agree.
/// </summary>
public static class DevSigningKey
{
    public const string FileName = "dev-signing.key";

    /// <summary>Returns the key bytes, and whether it came from (or was just written to) the data folder.</summary>
    public static (byte[] Key, bool FromFile) Resolve(AuthOptions options, string dataDir)
    {
        if (!string.IsNullOrEmpty(options.SigningKey))
            return (Encoding.UTF8.GetBytes(options.SigningKey), false);

        Dmp.Store.PrivateFiles.CreateFolder(dataDir); // 0700 when new, like the store's folders
        var path = Path.Combine(dataDir, FileName);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (File.Exists(path))
            {
                var text = File.ReadAllText(path).Trim();
                if (text.Length > 0)
                    return (Convert.FromBase64String(text), true);
            }
            var key = RandomNumberGenerator.GetBytes(32);
            try
            {
                // CreateNew: when `serve` and `token` race on a fresh folder, one wins and both read it.
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough);
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key)));
                stream.Flush(flushToDisk: true);
                return (key, true);
            }
            catch (IOException) when (File.Exists(path))
            {
                Thread.Sleep(50);
            }
        }
        throw new IOException($"cannot create or read {path}");
    }
}
