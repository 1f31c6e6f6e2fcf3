using System.Net;
using System.Net.Sockets;
using Dmp.Ingest.Worker.Cli;
using Dmp.Ingest.Worker.Tests.Sftp;

namespace Dmp.Ingest.Worker.Tests.SqlServer;

/// <summary>
/// <c>serve</c> with <c>Dmp:Store:Provider=SqlServer</c> really connects (through Microsoft.Data.SqlClient, as a process):
/// a server that does not answer is one line naming the server, its port and the driver's reason, exit 69, no stack.
/// </summary>
[Trait("Tier", "Slow")]
public sealed class SqlServerStartupTests
{
    [Fact]
    public async Task An_unreachable_SQL_Server_is_one_line_naming_server_port_and_reason_and_exit_69()
    {
        var closed = FreePort();
        var data = Directory.CreateTempSubdirectory("dmp-mssql-down-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}",
                "--Dmp:Store:Provider=SqlServer",
                $"--Dmp:Store:ConnectionString=Server=127.0.0.1,{closed};Database=dmp;User ID=dmp;Password=secret;Encrypt=False;Connect Timeout=3");

            Assert.Equal(ExitCodes.Unavailable, code);
            var line = Assert.Single(Lines(stderr));
            Assert.StartsWith($"error: cannot open the SqlServer store at 127.0.0.1:{closed}/dmp: ", line, StringComparison.Ordinal);
            // The driver's own reason (a network error while establishing the connection), not a refusal of the provider.
            Assert.Contains("error occurred while establishing a connection to SQL Server", line, StringComparison.Ordinal);
            Assert.DoesNotContain("(Success)", line, StringComparison.Ordinal);
            Assert.DoesNotContain("not available in this build", line, StringComparison.Ordinal);
            Assert.DoesNotContain("Globalization", line, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SqlServer_without_a_connection_string_is_one_line_naming_the_key_and_exit_64()
    {
        var data = Directory.CreateTempSubdirectory("dmp-mssql-nocs-");
        try
        {
            var (code, stdout, stderr) = await CliRunner.RunAsync("serve", "--Dmp:Http:Port=0", "--Dmp:Mllp:Port=0", $"--Dmp:DataDir={data.FullName}",
                "--Dmp:Store:Provider=SqlServer");

            Assert.Equal(ExitCodes.Usage, code);
            var line = Assert.Single(Lines(stderr));
            Assert.Contains("Dmp:Store:Provider=SqlServer needs Dmp:Store:ConnectionString", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static string[] Lines(string text) => text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
