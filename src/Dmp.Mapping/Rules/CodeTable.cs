namespace Dmp.Mapping.Rules;

/// <summary>
/// A code table from `mappings/tables/NAME.yaml`: source codes to target codes, with an optional default for
/// codes the table does not list. Lookups are ordinal and case-sensitive, as HL7 codes are.
/// </summary>
public sealed class CodeTable
{
    private readonly Dictionary<string, string> _entries;

    internal CodeTable(string name, string file, Dictionary<string, string> entries, string? fallback)
    {
        Name = name;
        File = file;
        _entries = entries;
        Default = fallback;
    }

    public string Name { get; }

    /// <summary>The file the table was read from, relative to the rules folder.</summary>
    public string File { get; }

    public string? Default { get; }

    public int Count => _entries.Count;

    public bool Contains(string code) => _entries.ContainsKey(code);

    /// <summary>The target for a code: the entry, else the table's default, else null.</summary>
    public string? Lookup(string? code) =>
        code is not null && _entries.TryGetValue(code, out var target) ? target : Default;

    /// <summary>The target for a code when the table lists it (no default).</summary>
    public bool TryLookup(string? code, out string target)
    {
        if (code is not null && _entries.TryGetValue(code, out var found))
        {
            target = found;
            return true;
        }
        target = "";
        return false;
    }
}
