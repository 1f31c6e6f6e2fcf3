using Dmp.Ingest.Worker.Cli;
using Dmp.Mapping.Rules;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>
/// The rule set the running gateway maps with. Loaded at start (a broken rule folder stops the
/// start with FILE:LINE:COL); then the folder is polled — no file watchers, the machine allows few —
/// and a changed folder is loaded and swapped in atomically. A broken edit keeps the previous set.
/// </summary>
public sealed class RuleSetReloader(IOptions<RulesOptions> options, ILogger<RuleSetReloader> logger) : BackgroundService
{
    private RuleSet _current = RuleSet.Empty;
    private string? _folder;
    private Dictionary<string, string> _fingerprint = [];

    /// <summary>The rule set in force; a reload replaces it whole.</summary>
    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>How many times a changed folder was loaded and swapped in.</summary>
    public int Reloads { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _folder = RulesFolder.Resolve(options.Value.Path)
            ?? throw new StartupException(RulesFolder.Missing(options.Value.Path), ExitCodes.Usage);
        _fingerprint = Fingerprint(_folder);
        var loaded = RuleSet.Load(_folder);
        if (!loaded.Success)
            throw new StartupException("the mapping rules do not load: " + RulesFolder.Format(_folder, loaded.Errors[0]), ExitCodes.DataError);
        Volatile.Write(ref _current, loaded.Rules!);
        logger.LogInformation("Mapping rules loaded from {Folder}", _folder);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = options.Value.ReloadSeconds;
        if (every <= 0 || _folder is null)
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(every));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            TryReload();
    }

    /// <summary>Loads the folder again if it changed; true when a new set was swapped in.</summary>
    public bool TryReload()
    {
        if (_folder is null)
            return false;
        var fingerprint = Fingerprint(_folder);
        var changed = Changed(_fingerprint, fingerprint);
        if (changed.Count == 0)
            return false;
        _fingerprint = fingerprint;
        var edited = string.Join(", ", changed.Select(RulesFolder.Display));
        var loaded = RuleSet.Load(_folder);
        if (!loaded.Success)
        {
            logger.LogWarning("Mapping rules changed ({Files}) but do not load; the previous rules stay in force: {Error}", edited, RulesFolder.Format(_folder, loaded.Errors[0]));
            return false;
        }
        Volatile.Write(ref _current, loaded.Rules!);
        Reloads++;
        logger.LogInformation("Mapping rules reloaded from {Folder}: {Files} changed", _folder, edited);
        return true;
    }

    /// <summary>Each file's length and write time, by full path: what changed is what the reload message names.</summary>
    private static Dictionary<string, string> Fingerprint(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => new FileInfo(f))
            .ToDictionary(f => f.FullName, f => $"{f.Length}|{f.LastWriteTimeUtc.Ticks}", StringComparer.Ordinal);

    private static List<string> Changed(Dictionary<string, string> before, Dictionary<string, string> after) =>
        after.Where(f => !before.TryGetValue(f.Key, out var was) || was != f.Value).Select(f => f.Key)
            .Concat(before.Keys.Where(f => !after.ContainsKey(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
}
