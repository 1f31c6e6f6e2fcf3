using Microsoft.Extensions.Configuration;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>
/// Builds the configuration every verb sees: appsettings.json beside the executable, then one in the
/// working folder, environment variables, then command-line overrides. Files are not watched: the
/// machine allows few file watchers and configuration reload is not part of the contract.
/// </summary>
public static class GatewayConfiguration
{
    /// <summary>The settings files read, in order: the one shipped beside the executable, then the current folder's.</summary>
    public static IReadOnlyList<string> SettingsFiles() =>
        new[] { Path.Combine(AppContext.BaseDirectory, "appsettings.json"), Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json") }
            .Select(Path.GetFullPath)
            .Distinct(StringComparer.Ordinal)
            .ToList();

    public static void AddSources(IConfigurationBuilder builder, IReadOnlyDictionary<string, string?> overrides)
    {
        foreach (var file in SettingsFiles())
            builder.AddJsonFile(file, optional: true, reloadOnChange: false);
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
