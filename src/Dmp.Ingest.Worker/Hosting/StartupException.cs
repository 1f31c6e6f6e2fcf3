namespace Dmp.Ingest.Worker.Hosting;

/// <summary>
/// A start that cannot go on for a reason the user can fix: the one line the console shows (what,
/// where, the fix) and the exit code (64 a setting, 65 a rule file, 69 a store, port or certificate).
/// </summary>
public sealed class StartupException(string message, int exitCode, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
