using System.Text.Json;
using System.Text.Json.Serialization;

namespace Dmp.LoadGen;

/// <summary>What the load generator prints as its last line.</summary>
public sealed record LoadReport
{
    [JsonPropertyName("sent")] public long Sent { get; init; }
    /// <summary>AA or CA for the control id sent.</summary>
    [JsonPropertyName("acked")] public long Acked { get; init; }
    /// <summary>Any other answer (AE, AR, CE, CR, or an accept of another control id).</summary>
    [JsonPropertyName("nacked")] public long Nacked { get; init; }
    /// <summary>Sent and never answered within the ACK timeout (or the connection broke first).</summary>
    [JsonPropertyName("lost")] public long Lost { get; init; }
    [JsonPropertyName("acked_per_s")] public double AckedPerSecond { get; init; }
    /// <summary>Send to ACK received, answered messages only.</summary>
    [JsonPropertyName("p50_ms")] public double P50Ms { get; init; }
    [JsonPropertyName("p99_ms")] public double P99Ms { get; init; }
    [JsonPropertyName("max_ms")] public double MaxMs { get; init; }
    [JsonPropertyName("mismatched")] public long Mismatched { get; init; }
    [JsonPropertyName("connect_failures")] public long ConnectFailures { get; init; }
    [JsonPropertyName("connections")] public int Connections { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("rate")] public double? Rate { get; init; }
    /// <summary>With --verify: ACKed control ids the operator API finds, and those it does not.</summary>
    [JsonPropertyName("verified")] public long? Verified { get; init; }
    [JsonPropertyName("missing")] public long? Missing { get; init; }

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
