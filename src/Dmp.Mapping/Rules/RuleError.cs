namespace Dmp.Mapping.Rules;

/// <summary>Why a rule file was refused, with its position (1-based line and column): errors are values.</summary>
public sealed record RuleError(string File, int Line, int Column, string Reason)
{
    /// <summary>`FILE:LINE:COL: reason`, the CLI's error format for rule files.</summary>
    public override string ToString() => $"{File}:{Math.Max(Line, 1)}:{Math.Max(Column, 1)}: {Reason}";
}
