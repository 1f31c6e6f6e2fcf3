using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Dmp.Ingest.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>The operator API over real HTTP, on messages that came in over real MLLP.</summary>
public sealed class OperatorApiTests
{
    [Fact]
    public async Task Messages_api_refuses_anonymous_with_401_and_a_patient_with_403_as_problem_json()
    {
        await using var gateway = await TestGateway.StartAsync();

        using var anonymous = await gateway.Anonymous.GetAsync("/api/messages");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/messages");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestGateway.Token("patient", ins: "123456789012345"));
        using var patient = await gateway.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, patient.StatusCode);
        Assert.Equal("application/problem+json", patient.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Messages_are_listed_newest_first_in_pages_and_filtered()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using (var client = await gateway.ConnectAsync())
        {
            for (var i = 1; i <= 7; i++)
                Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt($"PAGE-{i}"))).Code);
            Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync("garbage"u8.ToArray())).Code);
        }

        // Pages of 3, following `next`.
        var seen = new List<string?>();
        string? url = "/api/messages?limit=3";
        var pages = 0;
        while (url is not null)
        {
            var page = await GetJsonAsync(gateway.Api, url);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 3);
            seen.AddRange(items.Select(i => i.Str("controlId")));
            url = page.Str("next");
            Assert.True(++pages <= 3, "paging does not end");
        }
        Assert.Equal(3, pages);
        Assert.Equal([null, "PAGE-7", "PAGE-6", "PAGE-5", "PAGE-4", "PAGE-3", "PAGE-2", "PAGE-1"], seen.Select(s => string.IsNullOrEmpty(s) ? null : s));

        Assert.Single(await gateway.MessagesAsync("status=rejected"));
        Assert.Equal(7, (await gateway.MessagesAsync("sender=" + Uri.EscapeDataString(Hl7Samples.Sender))).Count);
        Assert.Equal("PAGE-4", (await gateway.SingleAsync("PAGE-4")).Str("controlId"));
        Assert.Empty(await gateway.MessagesAsync("controlId=NOPE"));
        using var bad = await gateway.Api.GetAsync("/api/messages?status=bogus");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        using var badLimit = await gateway.Api.GetAsync("/api/messages?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
    }

    [Fact]
    public async Task Message_detail_has_history_and_raw_returns_the_exact_bytes()
    {
        await using var gateway = await TestGateway.StartAsync();
        var message = Hl7Samples.Corpus("hl7v2", "french", "ans_PAMFR_SGL_admission_A01.er7");
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(message)).Code);
        var id = Assert.Single(await gateway.MessagesAsync()).Id();

        var detail = await gateway.WaitForStatusAsync(id, "processed");
        using var raw = await gateway.Api.GetAsync($"/api/messages/{id}/raw");

        var history = detail.GetProperty("history").EnumerateArray().Select(h => h.Str("status")).ToList();
        Assert.Equal(["accepted", "processed"], history);
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal(message, await raw.Content.ReadAsByteArrayAsync());
        using var missing = await gateway.Api.GetAsync("/api/messages/999999");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Replay_of_a_processed_message_processes_it_again()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("REPLAY-1"))).Code);
        var id = (await gateway.SingleAsync("REPLAY-1")).Id();
        await gateway.WaitForStatusAsync(id, "processed");

        using var replay = await gateway.Api.PostAsync($"/api/messages/{id}/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        List<string?> history;
        do
        {
            var detail = await gateway.GetAsync(id);
            history = detail.GetProperty("history").EnumerateArray().Select(h => h.Str("status")).ToList();
            if (history.Count(s => s == "processed") == 2 && detail.Str("status") == "processed")
                break;
            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Equal(["accepted", "processed", "accepted", "processed"], history);
    }

    [Fact]
    public async Task Replay_of_an_accepted_or_rejected_message_is_a_conflict_and_of_an_unknown_one_not_found()
    {
        await using var gateway = await TestGateway.StartAsync();
        // With the processing worker stopped, a new message stays `accepted`.
        using (var stop = new CancellationTokenSource(TestGateway.Patience))
            await gateway.Services.GetRequiredService<ProcessingWorker>().StopAsync(stop.Token);
        await using (var client = await gateway.ConnectAsync())
        {
            Assert.Equal("AR", Hl7Samples.ReadAck(await client.SendAsync("not hl7"u8.ToArray())).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("WAITING-1"))).Code);
        }
        var rejected = Assert.Single(await gateway.MessagesAsync("status=rejected")).Id();
        var accepted = (await gateway.SingleAsync("WAITING-1")).Id();

        using var acceptedConflict = await gateway.Api.PostAsync($"/api/messages/{accepted}/replay", null);
        Assert.Equal(HttpStatusCode.Conflict, acceptedConflict.StatusCode);
        Assert.Equal("application/problem+json", acceptedConflict.Content.Headers.ContentType?.MediaType);
        Assert.Equal("accepted", (await gateway.GetAsync(accepted)).Str("status"));
        using var conflict = await gateway.Api.PostAsync($"/api/messages/{rejected}/replay", null);
        using var unknown = await gateway.Api.PostAsync("/api/messages/424242/replay", null);

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Valid_adt_ends_processed_adt_without_pid_ends_failed_and_qbp_ends_ignored()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using (var client = await gateway.ConnectAsync())
        {
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("PROC-OK"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("PROC-NOPID", withPid: false))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.WithControlId(Hl7Samples.Corpus("hl7v2", "ipf_qbp.hl7"), "PROC-QBP"))).Code);
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.WithControlId(Hl7Samples.Corpus("hl7v2", "fhirconv_SIU-S12-01.hl7"), "PROC-SIU"))).Code);
        }

        var ok = await gateway.WaitForStatusAsync((await gateway.SingleAsync("PROC-OK")).Id(), "processed", "failed", "ignored");
        var noPid = await gateway.WaitForStatusAsync((await gateway.SingleAsync("PROC-NOPID")).Id(), "processed", "failed", "ignored");
        var qbp = await gateway.WaitForStatusAsync((await gateway.SingleAsync("PROC-QBP")).Id(), "processed", "failed", "ignored");

        Assert.Equal("processed", ok.Str("status"));
        Assert.Equal("failed", noPid.Str("status"));
        Assert.False(string.IsNullOrEmpty(noPid.Str("error")));
        Assert.Equal("ignored", qbp.Str("status"));
        // A type no rule covers is processed with the generic reading and says so; one a rule covers does not.
        var siu = await gateway.WaitForStatusAsync((await gateway.SingleAsync("PROC-SIU")).Id(), "processed", "failed", "ignored");
        Assert.Equal("processed", siu.Str("status"));
        Assert.Contains("no-mapping-rule", siu.Warnings());
        Assert.DoesNotContain("no-mapping-rule", ok.Warnings());
    }

    [Fact]
    public async Task Failed_message_can_be_replayed()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using (var client = await gateway.ConnectAsync())
            Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("FAIL-REPLAY", withPid: false))).Code);
        var id = (await gateway.SingleAsync("FAIL-REPLAY")).Id();
        await gateway.WaitForStatusAsync(id, "failed");

        using var replay = await gateway.Api.PostAsync($"/api/messages/{id}/replay", null);

        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while ((await gateway.GetAsync(id)).GetProperty("history").EnumerateArray().Count(h => h.Str("status") == "failed") < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the replayed message was not processed again");
            await Task.Delay(50);
        }
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
