namespace Dmp.Ingest.Worker.Cli;

/// <summary>
/// Turns the `--Section:Key=value` tokens System.CommandLine leaves unmatched into configuration
/// overrides, and reports anything else as bad usage.
/// </summary>
public static class ConfigurationOverrides
{
    public static bool TryCollect(IReadOnlyList<string> unmatched, out Dictionary<string, string?> values, out string? error)
    {
        values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        error = null;
        for (var i = 0; i < unmatched.Count; i++)
        {
            var token = unmatched[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length < 3)
            {
                error = $"unexpected argument '{token}'";
                return false;
            }
            var body = token[2..];
            var eq = body.IndexOf('=', StringComparison.Ordinal);
            string key;
            string? value;
            if (eq >= 0)
            {
                key = body[..eq];
                value = body[(eq + 1)..];
            }
            else if (i + 1 < unmatched.Count && !unmatched[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                key = body;
                value = unmatched[++i];
            }
            else
            {
                error = $"configuration override '{token}' has no value (use --Section:Key=value)";
                return false;
            }
            if (!key.Contains(':', StringComparison.Ordinal) && !key.Contains("__", StringComparison.Ordinal))
            {
                error = $"unknown option '--{key}'";
                return false;
            }
            values[key.Replace("__", ":", StringComparison.Ordinal)] = value;
        }
        return true;
    }
}
