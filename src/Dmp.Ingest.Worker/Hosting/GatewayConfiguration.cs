using Microsoft.Extensions.Configuration;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>
/// Builds the configuration every verb sees: appsettings.json beside the executable, then one in the
/// working folder, environment variables, then command-line overrides. Files are not watched: the
/// machine allows few file watchers and configuration reload is not part of the contract.
/// </summary>
public static class GatewayConfiguration
{
    public static void AddSources(IConfigurationBuilder builder, IReadOnlyDictionary<string, string?> overrides)
    {
        builder.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        builder.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true, reloadOnChange: false);
        builder.AddEnvironmentVariables();
        builder.AddInMemoryCollection(overrides);
    }

    public static IConfigurationRoot Build(IReadOnlyDictionary<string, string?> overrides)
    {
        var builder = new ConfigurationBuilder();
        AddSources(builder, overrides);
        return builder.Build();
    }
}
