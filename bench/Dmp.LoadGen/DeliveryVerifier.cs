using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Dmp.LoadGen;

/// <summary>--verify: asks the operator API for every ACKed control id (an ACK promises the message is stored).</summary>
public static class DeliveryVerifier
{
    public static async Task<(long Verified, long Missing)> VerifyAsync(Uri api, string token, IReadOnlyList<string> controlIds, TextWriter progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(controlIds);
        ArgumentNullException.ThrowIfNull(progress);
        using var http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        long verified = 0, missing = 0, reported = 0;
        await Parallel.ForEachAsync(controlIds, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (id, token) =>
        {
            bool found;
            using (var response = await http.GetAsync("/api/messages?controlId=" + Uri.EscapeDataString(id), token))
            {
                if (!response.IsSuccessStatusCode)
                {
                    if (Interlocked.Increment(ref reported) == 1)
                        await progress.WriteLineAsync($"verify: GET /api/messages answered {(int)response.StatusCode} {response.ReasonPhrase}");
                    found = false;
                }
                else
                {
                    using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(token), cancellationToken: token);
                    found = doc.RootElement.TryGetProperty("items", out var items) && items.EnumerateArray()
                        .Any(m => m.TryGetProperty("controlId", out var c) && c.GetString() == id);
                }
            }
            if (found)
                Interlocked.Increment(ref verified);
            else
                Interlocked.Increment(ref missing);
        });
        await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"verify: {verified} found, {missing} missing of {controlIds.Count}"));
        return (verified, missing);
    }
}
