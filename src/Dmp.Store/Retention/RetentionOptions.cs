namespace Dmp.Store.Retention;

/// <summary>Settings under <c>Dmp:Retention</c>: how long the raw bytes of finished inbound messages are kept.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Dmp:Retention";

    /// <summary>
    /// Days the raw bytes of a <c>processed</c> or <c>ignored</c> message are kept after it was first
    /// received; 0 (the default) keeps them for ever. Off by default: raw bytes are what a replay
    /// runs on, so dropping them is a decision for the operator (and the hospital's retention policy).
    /// </summary>
    public int RawDays { get; set; }

    /// <summary>Minutes between two retention runs (the first runs at start).</summary>
    public int IntervalMinutes { get; set; } = 60;

    /// <summary>Messages purged per transaction: each batch is a short write, so ACKs never wait long behind it.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Problems that must stop the gateway at start, each naming the setting and the fix.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (RawDays is < 0 or > 36_500)
        {
            errors.Add($"Dmp:Retention:RawDays={RawDays} must be between 0 (keep raw bytes for ever) and 36500 days.");
        }

        if (IntervalMinutes is < 1 or > 10_080)
        {
            errors.Add($"Dmp:Retention:IntervalMinutes={IntervalMinutes} must be between 1 and 10080 (one week).");
        }

        if (BatchSize is < 1 or > 10_000)
        {
            errors.Add($"Dmp:Retention:BatchSize={BatchSize} must be between 1 and 10000 messages per transaction.");
        }

        return errors;
    }
}
