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
    private string _fingerprint = "";

    /// <summary>The rule set in force; a reload replaces it whole.</summary>
    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>How many times a changed folder was loaded and swapped in.</summary>
    public int Reloads { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _folder = RulesFolder.Resolve(options.Value.Path)
            ?? throw new InvalidOperationException($"Dmp:Rules:Path '{options.Value.Path}' does not exist: point it at the mappings folder");
        _fingerprint = Fingerprint(_folder);
        var loaded = RuleSet.Load(_folder);
        if (!loaded.Success)
            throw new InvalidOperationException("the mapping rules do not load: " + RulesFolder.Format(_folder, loaded.Errors[0]));
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
        if (fingerprint == _fingerprint)
            return false;
        _fingerprint = fingerprint;
        var loaded = RuleSet.Load(_folder);
        if (!loaded.Success)
        {
            logger.LogWarning("Mapping rules changed but do not load; the previous rules stay in force: {Error}", RulesFolder.Format(_folder, loaded.Errors[0]));
            return false;
        }
        Volatile.Write(ref _current, loaded.Rules!);
        Reloads++;
        logger.LogInformation("Mapping rules reloaded from {Folder}", _folder);
        return true;
    }

    private static string Fingerprint(string folder)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(f => new FileInfo(f))
            .Select(f => $"{f.FullName}|{f.Length}|{f.LastWriteTimeUtc.Ticks}");
        return string.Join('\n', files);
    }
}
