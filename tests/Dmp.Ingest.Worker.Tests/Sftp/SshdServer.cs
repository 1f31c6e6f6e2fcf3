using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dmp.Ingest.Worker.Tests.Sftp;

/// <summary>
/// A private OpenSSH sshd on a free loopback port (SERVICES.md): its own temporary folder, ed25519 host and
/// client keys made by ssh-keygen, SFTP only (ForceCommand internal-sftp -d DIR/in). Stopped by its PID.
/// Missing sshd fails the test with the install step; it never skips.
/// </summary>
internal sealed class SshdServer : IAsyncDisposable
{
    public const string Sshd = "/usr/sbin/sshd";
    private readonly Process _process;

    private SshdServer(Process process, string dir, int port, string hostFingerprint, string clientFingerprint)
    {
        _process = process;
        Dir = dir;
        Port = port;
        HostKeySha256 = hostFingerprint;
        ClientKeySha256 = clientFingerprint;
    }

    public string Dir { get; }
    public int Port { get; }
    /// <summary>The folder the SFTP session starts in (and the source polls).</summary>
    public string In => Path.Combine(Dir, "in");
    public string ClientKey => Path.Combine(Dir, "client_ed25519");
    public string User => Environment.UserName;
    /// <summary>The host key's fingerprint as `ssh-keygen -l -E sha256` prints it.</summary>
    public string HostKeySha256 { get; }
    /// <summary>Another valid fingerprint (the client key's): a wrong pin.</summary>
    public string ClientKeySha256 { get; }
    public string Log => File.Exists(Path.Combine(Dir, "sshd.log")) ? File.ReadAllText(Path.Combine(Dir, "sshd.log")) : "";

    public static async Task<SshdServer> StartAsync()
    {
        if (!File.Exists(Sshd))
            Assert.Fail($"{Sshd} is missing: the SFTP tests need OpenSSH's server. Install it with: apt-get install -y openssh-server (./test.sh does it)");
        var dir = Directory.CreateTempSubdirectory("dmp-sshd-").FullName;
        Process? process = null;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "in"));
            if (Environment.UserName == "root")
                Directory.CreateDirectory("/run/sshd"); // privilege separation directory
            await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir, "host_ed25519"));
            await RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir, "client_ed25519"));
            var host = await FingerprintAsync(Path.Combine(dir, "host_ed25519.pub"));
            var client = await FingerprintAsync(Path.Combine(dir, "client_ed25519.pub"));
            var port = FreePort();
            var config = new StringBuilder()
                .Append("Port ").Append(port).Append('\n')
                .Append("ListenAddress 127.0.0.1\n")
                .Append("HostKey ").Append(dir).Append("/host_ed25519\n")
                .Append("PidFile ").Append(dir).Append("/sshd.pid\n")
                .Append("AuthorizedKeysFile ").Append(dir).Append("/client_ed25519.pub\n")
                .Append("PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n")
                .Append("Subsystem sftp internal-sftp\n")
                .Append("ForceCommand internal-sftp -d ").Append(dir).Append("/in\n")
                .ToString();
            await File.WriteAllTextAsync(Path.Combine(dir, "sshd_config"), config);
            // -D: stays in the foreground, so this Process is sshd itself and is stopped by its PID.
            var start = new ProcessStartInfo(Sshd) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in (string[])["-D", "-f", Path.Combine(dir, "sshd_config"), "-E", Path.Combine(dir, "sshd.log")])
                start.ArgumentList.Add(a);
            process = Process.Start(start)!;
            var server = new SshdServer(process, dir, port, host, client);
            await server.WaitReadyAsync();
            return server;
        }
        catch
        {
            if (process is not null)
                Stop(process);
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (_process.HasExited)
                Assert.Fail($"sshd exited with code {_process.ExitCode}: {await _process.StandardError.ReadToEndAsync()}\n{Log}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                var buffer = new byte[8];
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                var read = await tcp.GetStream().ReadAsync(buffer, timeout.Token);
                if (read > 0 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith("SSH-", StringComparison.Ordinal))
                    return;
            }
            catch (SocketException)
            {
                // not listening yet
            }
            if (DateTime.UtcNow > deadline)
                Assert.Fail("sshd did not answer on port " + Port + ":\n" + Log);
            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<string> FingerprintAsync(string publicKey)
    {
        var output = await RunAsync("ssh-keygen", "-l", "-E", "sha256", "-f", publicKey);
        return output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]; // "256 SHA256:… comment (ED25519)"
    }

    private static async Task<string> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
                Assert.Fail($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
            return await stdout;
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(); // SIGKILL to this PID only
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        process.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Stop(_process);
        }
        finally
        {
            Directory.Delete(Dir, recursive: true);
        }
        return ValueTask.CompletedTask;
    }
}
