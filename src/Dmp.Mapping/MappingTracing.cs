using System.Diagnostics;

namespace Dmp.Mapping;

/// <summary>
/// The mapping's spans in a message's trace (`parse`, then `map`), under whatever span is current (the processing
/// worker's). Same source name as the host's (`Dmp.Ingest`); with nobody listening, starting one costs a check.
/// </summary>
internal static class MappingTracing
{
    private static readonly ActivitySource Source = new("Dmp.Ingest");

    /// <summary>A child of the current span only: mapping outside a message's trace (the CLI) records nothing.</summary>
    public static Activity? Start(string name) => Activity.Current is null ? null : Source.StartActivity(name);
}
