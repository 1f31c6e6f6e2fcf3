using Dmp.Ingest.Worker.Sftp;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>An in-process gateway with one drop-folder source (<c>drop</c> unless named), polled only when a test says so.</summary>
internal static class DropFolderGateway
{
    public static Task<TestGateway> StartAsync(DirectoryInfo folder, string name = "drop", IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["Dmp:Sftp:Sources:0:Name"] = name,
            ["Dmp:Sftp:Sources:0:Kind"] = "Folder",
            ["Dmp:Sftp:Sources:0:Path"] = folder.FullName,
            ["Dmp:Sftp:Sources:0:PollSeconds"] = "3600",
        };
        return TestGateway.StartAsync(all);
    }

    /// <summary>The gateway's own poller (the one its scheduler runs).</summary>
    public static FilePoller Poller(this TestGateway gateway) => (FilePoller)gateway.Services.GetService(typeof(FilePoller))!;
}
