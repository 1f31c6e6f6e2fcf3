using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Sftp;

/// <summary>Where a file source's files are: a folder on an SFTP server, or a local drop folder.</summary>
public enum FileSourceKind
{
    Sftp,
    Folder,
}

/// <summary>What becomes of a file once its bytes are committed to the inbox.</summary>
public enum AfterIngest
{
    /// <summary>Moved to <c>archive/</c> under the source folder (a unique name when the name is taken).</summary>
    Archive,
    Delete,
}

/// <summary>When a file is complete enough to be taken.</summary>
public enum StableBy
{
    /// <summary>Same size and modification time across two polls.</summary>
    SizeAndTime,
    /// <summary>A marker <c>NAME.done</c> beside the file.</summary>
    DoneMarker,
}

/// <summary>The file sources polled into the inbox (`Dmp:Sftp:Sources:N:*`).</summary>
public sealed class SftpOptions
{
    public const string Section = "Dmp:Sftp";

    public List<FileSourceOptions> Sources { get; set; } = [];
}

/// <summary>One polled source (`Dmp:Sftp:Sources:N:*`). Its name is the channel of every message it brings.</summary>
public sealed class FileSourceOptions
{
    public string Name { get; set; } = "";
    public FileSourceKind Kind { get; set; } = FileSourceKind.Sftp;
    public string? Host { get; set; }
    public int Port { get; set; } = 22;
    public string? User { get; set; }
    public string? PrivateKeyPath { get; set; }
    /// <summary>The pinned host key as OpenSSH prints it: <c>SHA256:</c> + unpadded base64.</summary>
    public string? HostKeySha256 { get; set; }
    /// <summary>The folder polled on the SFTP server.</summary>
    public string RemoteFolder { get; set; } = ".";
    /// <summary>The local folder polled (Kind = Folder).</summary>
    public string? Path { get; set; }
    /// <summary>Glob on the file name: <c>*</c> and <c>?</c>.</summary>
    public string Pattern { get; set; } = "*";
    public int PollSeconds { get; set; } = 30;
    /// <summary>A Quartz cron expression; when set it replaces <see cref="PollSeconds"/>.</summary>
    public string? Schedule { get; set; }
    public AfterIngest AfterIngest { get; set; } = AfterIngest.Archive;
    public StableBy StableBy { get; set; } = StableBy.SizeAndTime;
    /// <summary>Seconds allowed to connect to the server.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 30;
    /// <summary>
    /// MSH-4.1 values the HL7 v2 files of this source may speak for (`*` or empty: any). A CDA file names no MSH-4:
    /// it is bound by the folder it is taken from.
    /// </summary>
    public List<string> Facilities { get; set; } = [];

    /// <summary>The source as a sender: its name (recorded as senderName) and the facilities it may speak for.</summary>
    internal Mllp.SenderAuthority Sender()
    {
        var facilities = Facilities.Select(f => f.Trim()).Where(f => f.Length > 0).ToHashSet(StringComparer.Ordinal);
        if (facilities.Count == 0)
            facilities.Add("*");
        return Mllp.SenderAuthority.Of([new Mllp.MatchedSender(Name, facilities, false)], false);
    }

    /// <summary>The folder as the source reads it (remote folder for SFTP, local path for a drop folder).</summary>
    internal string Folder => Kind == FileSourceKind.Folder ? Path ?? "" : RemoteFolder;

    internal Regex PatternRegex() =>
        new("^" + Regex.Escape(Pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant);

    /// <summary>The pinned fingerprint without its prefix and padding, as SSH.NET gives it.</summary>
    internal static string NormalizeFingerprint(string value)
    {
        var v = value.Trim();
        if (v.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase))
            v = v[7..];
        return v.TrimEnd('=');
    }
}

/// <summary>Names the setting and the fix when a file source is wrong.</summary>
public sealed class SftpOptionsValidator : IValidateOptions<SftpOptions>
{
    public ValidateOptionsResult Validate(string? name, SftpOptions options)
    {
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Sources.Count; i++)
        {
            var s = options.Sources[i];
            var key = $"{SftpOptions.Section}:Sources:{i}";
            if (string.IsNullOrWhiteSpace(s.Name) || s.Name.Contains('/', StringComparison.Ordinal))
                failures.Add($"{key}:Name must be a non-empty name without '/' (it becomes the channel of the messages, e.g. radiologie-x)");
            else if (!names.Add(s.Name))
                failures.Add($"{key}:Name '{s.Name}' is used by another source: give each source its own name");
            if (s.Kind == FileSourceKind.Sftp)
            {
                if (string.IsNullOrWhiteSpace(s.Host))
                    failures.Add($"{key}:Host is not set: give the SFTP server's host name or address");
                if (s.Port is < 1 or > 65535)
                    failures.Add($"{key}:Port is {s.Port}: use a TCP port between 1 and 65535 (default 22)");
                if (string.IsNullOrWhiteSpace(s.User))
                    failures.Add($"{key}:User is not set: give the SFTP account name");
                if (string.IsNullOrWhiteSpace(s.PrivateKeyPath))
                    failures.Add($"{key}:PrivateKeyPath is not set: give the path of the client's private key (OpenSSH format)");
                else if (!File.Exists(s.PrivateKeyPath))
                    failures.Add($"{key}:PrivateKeyPath '{s.PrivateKeyPath}' does not exist");
                if (string.IsNullOrWhiteSpace(s.HostKeySha256))
                    failures.Add($"{key}:HostKeySha256 is not set: pin the server's host key as `ssh-keygen -lf KEY.pub -E sha256` prints it (SHA256:...)");
                else if (!IsFingerprint(s.HostKeySha256))
                    failures.Add($"{key}:HostKeySha256 '{s.HostKeySha256}' is not a SHA-256 fingerprint: use the form SHA256:<43 base64 characters> as ssh-keygen -l prints it");
                if (string.IsNullOrWhiteSpace(s.RemoteFolder))
                    failures.Add($"{key}:RemoteFolder is empty: give the folder to poll on the server (default '.')");
                if (s.ConnectTimeoutSeconds < 1)
                    failures.Add($"{key}:ConnectTimeoutSeconds must be at least 1");
            }
            else if (string.IsNullOrWhiteSpace(s.Path))
            {
                failures.Add($"{key}:Path is not set: give the local drop folder to poll (Kind = Folder)");
            }
            if (string.IsNullOrWhiteSpace(s.Pattern) || s.Pattern.Contains('/', StringComparison.Ordinal))
                failures.Add($"{key}:Pattern '{s.Pattern}' must be a file-name glob such as *.xml (default *)");
            if (s.Schedule is { Length: > 0 } cron)
            {
                if (!Quartz.CronExpression.TryParse(cron, out _))
                    failures.Add($"{key}:Schedule '{cron}' is not a Quartz cron expression (e.g. '0 */5 * * * ?'): fix it or remove it to use PollSeconds");
            }
            else if (s.PollSeconds < 1)
            {
                failures.Add($"{key}:PollSeconds is {s.PollSeconds}: use at least 1 (default 30), or set Schedule");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsFingerprint(string value)
    {
        var v = FileSourceOptions.NormalizeFingerprint(value);
        if (v.Length != 43)
            return false;
        Span<byte> buffer = stackalloc byte[33];
        return Convert.TryFromBase64String(v + "=", buffer, out var written) && written == 32;
    }
}
