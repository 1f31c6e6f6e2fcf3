using System.Collections;
using System.Globalization;
using System.Reflection;
using Dmp.Ingest.Worker.Auth;
using Dmp.Ingest.Worker.Cli;
using Dmp.Ingest.Worker.Fhir;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Ingest.Worker.Sftp;
using Dmp.Ingest.Worker.Telemetry;
using Dmp.Store;
using Dmp.Store.Retention;
using Microsoft.Extensions.Configuration;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>
/// Reads every configured value of the options sections before the host binds them: a value that
/// does not convert (`--Dmp:Mllp:AckMode=Foo`) becomes one line naming the key, the value, what is
/// allowed and the fix — instead of the binder's exception naming a .NET type.
/// </summary>
public static class SettingsCheck
{
    /// <summary>The sections the gateway binds, with their options class.</summary>
    private static readonly (string Section, Type Options)[] Sections =
    [
        (GatewayOptions.Section, typeof(GatewayOptions)),
        (HttpOptions.Section, typeof(HttpOptions)),
        (RulesOptions.Section, typeof(RulesOptions)),
        (MllpOptions.Section, typeof(MllpOptions)),
        (AuthOptions.Section, typeof(AuthOptions)),
        (StoreOptions.Section, typeof(StoreOptions)),
        (BlobOptions.Section, typeof(BlobOptions)),
        (RetentionOptions.Section, typeof(RetentionOptions)),
        (AccessOptions.Section, typeof(AccessOptions)),
        (SftpOptions.Section, typeof(SftpOptions)),
        (GatewayLoggingOptions.Section, typeof(GatewayLoggingOptions)),
        (HealthOptions.Section, typeof(HealthOptions)),
        (Alerts.AlertsOptions.Section, typeof(Alerts.AlertsOptions)),
        (MetricsOptions.Section, typeof(MetricsOptions)),
        (TelemetryOptions.Section, typeof(TelemetryOptions)),
        (Pipeline.ProcessingOptions.Section, typeof(Pipeline.ProcessingOptions)),
    ];

    /// <summary>One line per value that does not convert; empty when all do.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        var problems = new List<string>();
        foreach (var (section, options) in Sections)
            Check(configuration.GetSection(section), options, problems);
        return problems;
    }

    /// <summary>Throws a <see cref="StartupException"/> (exit 64) carrying every problem, one per line.</summary>
    public static void ThrowIfInvalid(IConfiguration configuration)
    {
        var problems = Problems(configuration);
        if (problems.Count > 0)
            throw new StartupException(string.Join(Environment.NewLine, problems), ExitCodes.Usage);
    }

    private static void Check(IConfigurationSection section, Type type, List<string> problems)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite && !IsList(property.PropertyType, out _))
                continue;
            var child = section.GetSection(property.Name);
            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (IsList(target, out var element))
            {
                foreach (var item in child.GetChildren())
                    CheckValue(item, element, problems);
            }
            else
            {
                CheckValue(child, target, problems);
            }
        }
    }

    private static void CheckValue(IConfigurationSection section, Type type, List<string> problems)
    {
        if (type != typeof(string) && type.IsClass)
        {
            Check(section, type, problems);
            return;
        }
        if (section.Value is not { } value || type == typeof(string))
            return;
        if (Converts(value, type))
            return;
        var allowed = Allowed(type);
        problems.Add($"{section.Path} is '{value}': {allowed.Description}; fix it in appsettings.json, the environment (Dmp__…) or the command line, e.g. --{section.Path}={allowed.Example}");
    }

    private static bool Converts(string value, Type type)
    {
        if (type.IsEnum)
            return Enum.TryParse(type, value, ignoreCase: true, out var parsed) && Enum.IsDefined(type, parsed!);
        if (type == typeof(bool))
            return bool.TryParse(value, out _);
        if (type == typeof(int))
            return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
        if (type == typeof(long))
            return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
        if (type == typeof(double))
            return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        if (type == typeof(TimeSpan))
            return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _);
        return true;
    }

    private static (string Description, string Example) Allowed(Type type)
    {
        if (type.IsEnum)
        {
            var names = Enum.GetNames(type);
            return ($"allowed values are {string.Join(", ", names)}", names[0]);
        }
        if (type == typeof(bool))
            return ("use true or false", "true");
        if (type == typeof(TimeSpan))
            return ("use a duration like 00:00:30", "00:00:30");
        if (type == typeof(double))
            return ("use a number like 1.5", "1.5");
        return ("use a whole number", "10");
    }

    private static bool IsList(Type type, out Type element)
    {
        element = typeof(object);
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
            return false;
        if (type.IsArray)
        {
            element = type.GetElementType()!;
            return true;
        }
        if (type.IsGenericType && type.GetGenericArguments() is [var single])
        {
            element = single;
            return true;
        }
        return false;
    }
}
