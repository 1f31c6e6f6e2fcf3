using Dmp.Ingest.Worker.Cli;
using Dmp.Mapping.Rules;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Hosting;

/// <summary>
/// The rule set the running gateway maps with. Loaded at start (a broken rule folder stops the
/// start with FILE:LINE:COL); then the folder is polled — no file watchers, the machine allows few —
/// and a changed folder is loaded and swapped in atomically. A broken edit keeps the previous set.
/// With `Dmp:Rules:Reload=manual` nothing is polled: an edit loads only when an operator asks (<see cref="ReloadNow"/>,
/// `POST /api/rules/reload`), so a change can be previewed against stored traffic first.
/// </summary>
public sealed class RuleSetReloader(IOptions<RulesOptions> options, ILogger<RuleSetReloader> logger) : BackgroundService
{
    private RuleSet _current = RuleSet.Empty;
    private string? _folder;
    private Dictionary<string, string> _fingerprint = [];
    private readonly Lock _swap = new();

    /// <summary>The rule set in force; a reload replaces it whole.</summary>
    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>How many times a changed folder was loaded and swapped in.</summary>
    public int Reloads { get; private set; }

    /// <summary>`Dmp:Rules:Reload=manual`: disk edits load only through <see cref="ReloadNow"/>.</summary>
    public bool Manual => options.Value.Manual;

    /// <summary>The full path of the rules folder (known once started).</summary>
    public string? Folder => _folder;

    /// <summary>When the set in force was loaded (UTC).</summary>
    public DateTimeOffset LoadedAt { get; private set; }

    /// <summary>Whether the files on disk differ from the ones the set in force was loaded from (an edit not loaded yet).</summary>
    public bool DiskChanged => _folder is not null && Changed(_fingerprint, Fingerprint(_folder)).Count > 0;

    /// <summary>The rule files as they are on disk now, loaded but not put in force: the set, or its errors as `FILE:LINE:COL: reason`.</summary>
    public (RuleSet? Rules, IReadOnlyList<string> Errors) LoadFromDisk()
    {
        if (_folder is null)
            return (null, ["the rules folder is not known yet: the gateway has not started"]);
        if (!Directory.Exists(_folder))
            return (null, [RulesFolder.Missing(_folder)]);
        var loaded = RuleSet.Load(_folder);
        return loaded.Rules is { } rules ? (rules, []) : (null, [.. loaded.Errors.Select(e => RulesFolder.Format(_folder, e))]);
    }

    /// <summary>
    /// Loads the folder now and puts it in force, whatever the mode (the manual reload): the errors when it does not
    /// load — the set in force stays — else none.
    /// </summary>
    public IReadOnlyList<string> ReloadNow()
    {
        lock (_swap)
        {
            if (_folder is null)
                return ["the rules folder is not known yet: the gateway has not started"];
            var fingerprint = Fingerprint(_folder);
            var (rules, errors) = LoadFromDisk();
            if (rules is null)
            {
                logger.LogWarning("Mapping rules reload refused; the previous rules stay in force: {Error}", errors[0]);
                return errors;
            }
            _fingerprint = fingerprint;
            Volatile.Write(ref _current, rules);
            LoadedAt = DateTimeOffset.UtcNow;
            Reloads++;
            logger.LogInformation("Mapping rules reloaded on request from {Folder}", _folder);
            return [];
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _folder = RulesFolder.Resolve(options.Value.Path)
            ?? throw new StartupException(RulesFolder.Missing(options.Value.Path), ExitCodes.Usage);
        _fingerprint = Fingerprint(_folder);
        var loaded = RuleSet.Load(_folder);
        if (!loaded.Success)
            throw new StartupException("the mapping rules do not load: " + RulesFolder.Format(_folder, loaded.Errors[0]), ExitCodes.DataError);
        Volatile.Write(ref _current, loaded.Rules!);
        LoadedAt = DateTimeOffset.UtcNow;
        logger.LogInformation("Mapping rules loaded from {Folder}", _folder);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = options.Value.ReloadSeconds;
        if (every <= 0 || _folder is null || options.Value.Manual)
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(every));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            TryReload();
    }

    /// <summary>Loads the folder again if it changed; true when a new set was swapped in.</summary>
    public bool TryReload()
    {
        lock (_swap)
            return TryReloadLocked();
    }

    private bool TryReloadLocked()
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
        LoadedAt = DateTimeOffset.UtcNow;
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
