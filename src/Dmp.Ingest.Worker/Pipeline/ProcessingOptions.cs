using System.Globalization;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Pipeline;

/// <summary>The processing worker (`Dmp:Processing:*`).</summary>
public sealed class ProcessingOptions
{
    public const string Section = "Dmp:Processing";

    /// <summary>
    /// Messages per second (over 100 ms) above which the listeners' intake comes first and processing waits; 0 never
    /// waits. Ignored with `Dmp:Mllp:AckMode=Processed`, where the ACK waits for processing.
    /// </summary>
    public double DeferAbovePerSecond { get; set; } = 1500;

    /// <summary>The longest processing waits for a burst to end before it works through the backlog regardless.</summary>
    public double MaxDeferSeconds { get; set; } = 10;

    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (DeferAbovePerSecond is < 0 || double.IsNaN(DeferAbovePerSecond))
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"Dmp:Processing:DeferAbovePerSecond is {DeferAbovePerSecond}: use 0 (processing never waits for the intake) or a rate in messages per second, e.g. 1500"));
        if (MaxDeferSeconds is not (>= 0 and <= 300) || double.IsNaN(MaxDeferSeconds))
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"Dmp:Processing:MaxDeferSeconds is {MaxDeferSeconds}: use a number of seconds from 0 to 300, e.g. 10"));
        return failures;
    }
}

/// <summary>Validates `Dmp:Processing:*` at start, naming the key and the fix.</summary>
public sealed class ProcessingOptionsValidator : IValidateOptions<ProcessingOptions>
{
    public ValidateOptionsResult Validate(string? name, ProcessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = options.Validate();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
