using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>Ready when the data folder exists and can be written.</summary>
public sealed class DataDirHealthCheck(IOptions<GatewayOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var dir = options.Value.DataDirFullPath;
        try
        {
            Dmp.Store.PrivateFiles.CreateFolder(dir);
            var probe = Path.Combine(dir, ".ready-probe");
            var create = Dmp.Store.PrivateFiles.NewFile();
            create.Mode = FileMode.Create; // a probe left by a crash is overwritten
            using (var stream = new FileStream(probe, create))
                stream.Write("ok"u8);
            File.Delete(probe);
            return Task.FromResult(HealthCheckResult.Healthy());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("data folder is not writable (Dmp:DataDir)"));
        }
    }
}
