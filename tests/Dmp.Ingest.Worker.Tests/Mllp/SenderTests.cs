using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Ingest.Worker.Tests.Fhir;
using Microsoft.Extensions.DependencyInjection;
using static Dmp.Ingest.Worker.Tests.Fhir.Fhir;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>
/// `Dmp:Mllp:Senders`: a connection is matched to a configured sender, and a frame from a facility (MSH-4.1) its
/// sender may not speak for is stored rejected and answered AR — through real sockets and the HTTP API.
/// </summary>
public sealed class SenderTests
{
    /// <summary>`lab` speaks for LAB; `seed` (same address) for the facilities the dossier seed writes as.</summary>
    private static readonly Dictionary<string, string?> LabAndSeed = new()
    {
        ["Dmp:Mllp:Senders:0:Name"] = "lab",
        ["Dmp:Mllp:Senders:0:Addresses:0"] = "127.0.0.1",
        ["Dmp:Mllp:Senders:0:Facilities:0"] = "LAB",
        ["Dmp:Mllp:Senders:1:Name"] = "seed",
        ["Dmp:Mllp:Senders:1:Addresses:0"] = "127.0.0.1",
        ["Dmp:Mllp:Senders:1:Facilities:0"] = "SEED-ETAB",
        ["Dmp:Mllp:Senders:1:Facilities:1"] = "CHU-X",
    };

    [Fact]
    public async Task A_facility_its_sender_may_not_speak_for_is_refused_AR_and_its_consent_opens_nothing()
    {
        await using var gateway = await TestGateway.StartAsync(LabAndSeed);
        var seed = new DossierSeed(gateway);
        var ins = DossierSeed.NewIns();
        var patient = await seed.PatientAsync(ins);
        await seed.DocumentAsync(patient, new DossierSeed.Doc { AuthorRpps = "10000000099" });
        using var evil = seed.Client(DossierSeed.ProfessionalToken(OrgMemberRpps, "EVIL-ORG"));
        using var lab = seed.Client(DossierSeed.ProfessionalToken(OrgMemberRpps, "LAB"));
        Assert.Equal(HttpStatusCode.Forbidden, (await evil.FhirGetAsync(DocumentsOf(ins))).Status);

        // The probe's finding: an ADT from EVIL-ORG whose ZFA grants consultation to its professionals.
        var evilAck = await SendAsync(gateway, ConsentingA31("EVIL-ORG", ins, "EVIL-1"));
        // The same consent from a facility the sender may speak for does open the dossier (the test can fail).
        var labAck = await SendAsync(gateway, ConsentingA31("LAB", ins, "LAB-1"));
        await gateway.WaitForStatusAsync((await gateway.SingleAsync("LAB-1")).Id(), "processed");

        Assert.Equal(("AR", "EVIL-1"), (evilAck.Code, evilAck.ControlId));
        Assert.True(evilAck.HasErr, evilAck.Raw);
        Assert.Equal("facility EVIL-ORG is not allowed for senders lab, seed", evilAck.Text);
        var row = await gateway.SingleAsync("EVIL-1");
        Assert.Equal(("rejected", "lab", "mllp/GAM|EVIL-ORG"), (row.Str("status"), row.Str("senderName"), row.Str("sender")));
        Assert.StartsWith("facility EVIL-ORG is not allowed", row.Str("error"), StringComparison.Ordinal);
        Assert.Equal("AA", labAck.Code);
        Assert.Equal(HttpStatusCode.OK, (await lab.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await evil.FhirGetAsync(DocumentsOf(ins))).Status);
        Assert.Equal("rejected", (await gateway.GetAsync(row.Id())).Str("status"));
    }

    [Fact]
    public async Task A_connection_no_sender_matches_gets_AR_and_each_of_its_frames_is_stored_rejected()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Senders:0:Name"] = "far-lab",
            ["Dmp:Mllp:Senders:0:Addresses:0"] = "10.20.0.0/16",
            ["Dmp:Mllp:Senders:0:Facilities:0"] = "*",
        });
        await using var client = await gateway.ConnectAsync();

        var first = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("NOBODY-1")));
        var garbage = Hl7Samples.ReadAck(await client.SendAsync("not hl7 at all"u8.ToArray()));

        Assert.Equal(("AR", "NOBODY-1"), (first.Code, first.ControlId));
        Assert.Equal("no configured sender matches this connection (Dmp:Mllp:Senders)", first.Text);
        Assert.Equal("AR", garbage.Code);
        var row = await gateway.SingleAsync("NOBODY-1");
        Assert.Equal(("rejected", null, Hl7Samples.Sender), (row.Str("status"), row.Str("senderName"), row.Str("sender")));
        var rejected = await gateway.MessagesAsync("status=rejected");
        Assert.Equal(2, rejected.Count);
        Assert.All(rejected, r => Assert.StartsWith("no configured sender matches this connection", r.Str("error"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_matched_sender_name_is_listed_and_read_as_senderName_while_channel_and_sender_keep_their_meaning()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Senders:0:Name"] = "lab-a",
            ["Dmp:Mllp:Senders:0:Addresses:0"] = "::ffff:127.0.0.0/104",
            ["Dmp:Mllp:Senders:0:Facilities:0"] = "FAC",
        });
        await using var client = await gateway.ConnectAsync();

        var ack = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("NAMED-1")));
        var resent = Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("NAMED-1")));

        Assert.Equal(("AA", "AA"), (ack.Code, resent.Code));
        var listed = await gateway.SingleAsync("NAMED-1");
        Assert.Equal(("lab-a", "mllp", Hl7Samples.Sender), (listed.Str("senderName"), listed.Str("channel"), listed.Str("sender")));
        Assert.Equal(2, listed.GetProperty("receipts").GetInt32());
        var read = await gateway.GetAsync(listed.Id());
        Assert.Equal("lab-a", read.Str("senderName"));
    }

    [Fact]
    public async Task Without_senders_on_loopback_any_sender_is_accepted_and_no_sender_name_is_recorded()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();

        Assert.Equal("AA", Hl7Samples.ReadAck(await client.SendAsync(Hl7Samples.Adt("ANYONE-1"))).Code);

        var row = await gateway.SingleAsync("ANYONE-1");
        Assert.True(row.TryGetProperty("senderName", out var name));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, name.ValueKind);
    }

    [Fact]
    public async Task A_sender_AckWhenNotRequested_answers_its_NE_messages_and_others_keep_the_standard()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Dmp:Mllp:Senders:0:Name"] = "waits",
            ["Dmp:Mllp:Senders:0:Addresses:0"] = "127.0.0.2",
            ["Dmp:Mllp:Senders:0:Facilities:0"] = "FAC",
            ["Dmp:Mllp:Senders:0:AckWhenNotRequested"] = "true",
            ["Dmp:Mllp:Senders:1:Name"] = "standard",
            ["Dmp:Mllp:Senders:1:Addresses:0"] = "127.0.0.1",
            ["Dmp:Mllp:Senders:1:Facilities:0"] = "FAC",
        });
        await using var waits = await ConnectFromAsync(gateway, IPAddress.Parse("127.0.0.2"));
        await using var standard = await gateway.ConnectAsync();

        var answered = Hl7Samples.ReadAck(await waits.SendAsync(Hl7Samples.Adt("NE-WAITS", acceptAck: "NE", appAck: "NE")));
        await standard.WriteFrameAsync(Hl7Samples.Adt("NE-STANDARD", acceptAck: "NE", appAck: "NE"));
        // The next answer on that connection is the one for the following (original mode) message: NE got nothing.
        var next = Hl7Samples.ReadAck(await standard.SendAsync(Hl7Samples.Adt("AFTER-NE")));

        Assert.Equal(("CA", "NE-WAITS"), (answered.Code, answered.ControlId));
        Assert.Equal("AFTER-NE", next.ControlId);
        Assert.Equal("standard", (await gateway.SingleAsync("NE-STANDARD")).Str("senderName"));
        Assert.Equal("waits", (await gateway.SingleAsync("NE-WAITS")).Str("senderName"));
    }

    [Fact]
    public async Task Bytes_outside_any_frame_are_each_burst_one_rejected_message_never_answered()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await gateway.ConnectAsync();
        var before = "GET / HTTP/1.1\r\nHost: probe\r\n\r\n"u8.ToArray();
        var between = "junk between frames"u8.ToArray();

        // Whitespace after a frame's end (some senders add a line end) is not an input.
        await client.WriteRawAsync([
            .. before, .. MllpTestClient.Frame(Hl7Samples.Adt("STRAY-1")), (byte)'\r', (byte)'\n',
            .. MllpTestClient.Frame(Hl7Samples.Adt("STRAY-2")), .. between, .. MllpTestClient.Frame(Hl7Samples.Adt("STRAY-3"))]);
        var answers = new List<Hl7Samples.Answer>();
        for (var i = 0; i < 3; i++)
            answers.Add(Hl7Samples.ReadAck(await client.ReadFrameAsync()));
        await client.WriteRawAsync("trailing"u8.ToArray());
        client.ShutdownSend();
        Assert.True(await client.WaitClosedAsync(TimeSpan.FromSeconds(10)));

        // Only the three messages are answered: nothing answers the bytes outside frames.
        Assert.Equal([("AA", "STRAY-1"), ("AA", "STRAY-2"), ("AA", "STRAY-3")], answers.Select(a => (a.Code, a.ControlId)));
        var rows = await WaitForRowsAsync(gateway, 6);
        Assert.Equal(6, rows.Count);
        var stray = rows.Where(r => r.Str("status") == "rejected").OrderBy(r => r.Id()).ToList();
        Assert.Equal(3, stray.Count);
        Assert.Equal([Hl7Samples.Sha256Hex(before), Hl7Samples.Sha256Hex(between), Hl7Samples.Sha256Hex("trailing"u8.ToArray())],
            stray.Select(r => r.Str("sha256")!.ToUpperInvariant()));
        Assert.All(stray, r =>
        {
            Assert.Contains("outside any MLLP frame", r.Str("error"), StringComparison.Ordinal);
            Assert.Null(r.Str("ackCode"));
        });
        using var raw = await gateway.Api.GetAsync($"/api/messages/{stray[0].Id()}/raw");
        Assert.Equal(before, await raw.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Bytes_outside_any_frame_then_silence_are_stored_when_the_idle_timeout_closes_the_connection()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:IdleTimeoutSeconds"] = "1" });
        await using var client = await gateway.ConnectAsync();
        var probe = "HELO probe\r\n"u8.ToArray();

        await client.WriteRawAsync(probe);

        Assert.True(await client.WaitClosedAsync(TimeSpan.FromSeconds(15)), "the idle connection stayed open");
        var row = Assert.Single(await WaitForRowsAsync(gateway, 1));
        Assert.Equal(("rejected", "mllp/|", Hl7Samples.Sha256Hex(probe)), (row.Str("status"), row.Str("sender"), row.Str("sha256")!.ToUpperInvariant()));
        Assert.StartsWith($"{probe.Length} bytes arrived outside any MLLP frame", row.Str("error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_burst_outside_frames_longer_than_a_frame_keeps_its_prefix_length_and_hash_and_closes_the_connection()
    {
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Dmp:Mllp:MaxFrameBytes"] = "4096" });
        await using var client = await gateway.ConnectAsync();
        var flood = Encoding.ASCII.GetBytes(new string('Z', 20_000));

        await client.WriteRawAsync(flood);

        Assert.True(await client.WaitClosedAsync(TimeSpan.FromSeconds(10)), "the listener kept reading a flood outside any frame");
        var row = Assert.Single(await WaitForRowsAsync(gateway, 1));
        Assert.Equal("rejected", row.Str("status"));
        Assert.True(row.GetProperty("truncated").GetBoolean());
        Assert.InRange(row.GetProperty("length").GetInt64(), 4097, flood.Length);
        Assert.Contains("outside any MLLP frame", row.Str("error"), StringComparison.Ordinal);
        await using var other = await gateway.ConnectAsync();
        Assert.Equal("AA", Hl7Samples.ReadAck(await other.SendAsync(Hl7Samples.Adt("AFTER-FLOOD"))).Code);
    }

    [Fact]
    public async Task One_address_over_MaxConnectionsPerAddress_is_cut_at_once_while_another_address_is_served()
    {
        await using var gateway = await TestGateway.StartAsync();
        var held = new List<MllpTestClient>();
        try
        {
            for (var i = 0; i < 100; i++)
                held.Add(await gateway.ConnectAsync());
            // Every one of the hundred is served; the listener has counted them all before the next one comes.
            Assert.Equal("AA", Hl7Samples.ReadAck(await held[99].SendAsync(Hl7Samples.Adt("PER-ADDRESS-100"))).Code);
            var limiter = gateway.Services.GetRequiredService<MllpConnectionLimiter>();
            var counted = DateTime.UtcNow + TestGateway.Patience;
            while (limiter.OpenFrom(IPAddress.Loopback) < 100 && DateTime.UtcNow < counted)
                await Task.Delay(20);
            Assert.Equal(100, limiter.OpenFrom(IPAddress.Loopback));

            Assert.True(await IsCutAtOnceAsync(gateway), "the 101st connection from 127.0.0.1 stayed open");

            await using var elsewhere = await ConnectFromAsync(gateway, IPAddress.Parse("127.0.0.2"));
            var ack = Hl7Samples.ReadAck(await elsewhere.SendAsync(Hl7Samples.Adt("OTHER-ADDRESS")));
            Assert.Equal(("AA", "OTHER-ADDRESS"), (ack.Code, ack.ControlId));
        }
        finally
        {
            foreach (var client in held)
                await client.DisposeAsync();
        }

        // Closed connections give their slots back.
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (true)
        {
            byte[]? answer;
            try
            {
                await using var again = await gateway.ConnectAsync();
                answer = await again.SendAsync(Hl7Samples.Adt("AFTER-RELEASE"));
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                answer = null; // cut at once: the listener has not yet seen all of the hundred close.
            }
            if (answer is not null)
            {
                Assert.Equal("AA", Hl7Samples.ReadAck(answer).Code);
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "the address's slots were not given back");
            await Task.Delay(100);
        }
    }

    /// <summary>True when a new connection is closed by the listener at once (reset even before the connect completes, or closed after).</summary>
    private static async Task<bool> IsCutAtOnceAsync(TestGateway gateway)
    {
        MllpTestClient extra;
        try
        {
            extra = await gateway.ConnectAsync();
        }
        catch (SocketException)
        {
            return true;
        }
        await using (extra)
            return await extra.WaitClosedAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>An MLLP connection from another loopback address (the whole 127.0.0.0/8 is this machine's).</summary>
    internal static async Task<MllpTestClient> ConnectFromAsync(TestGateway gateway, IPAddress local)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Bind(new IPEndPoint(local, 0));
        await socket.ConnectAsync(gateway.Mllp);
        return MllpTestClient.FromSocket(socket);
    }

    private static async Task<Hl7Samples.Answer> SendAsync(TestGateway gateway, string message)
    {
        await using var client = await gateway.ConnectAsync();
        return Hl7Samples.ReadAck(await client.SendAsync(Encoding.UTF8.GetBytes(message)));
    }

    private static async Task<IReadOnlyList<System.Text.Json.JsonElement>> WaitForRowsAsync(TestGateway gateway, int count)
    {
        var deadline = DateTime.UtcNow + TestGateway.Patience;
        while (true)
        {
            var rows = await gateway.MessagesAsync();
            if (rows.Count >= count || DateTime.UtcNow > deadline)
                return rows;
            await Task.Delay(50);
        }
    }

    /// <summary>A PAM France ADT^A31 from <paramref name="facility"/> whose ZFA-11 records consent to consultation.</summary>
    private static string ConsentingA31(string facility, string ins, string controlId)
    {
        var now = DateTimeOffset.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "+0000";
        return string.Join('\r',
            $"MSH|^~\\&|GAM|{facility}|DMP|DMP|{now}||ADT^A31^ADT_A05|{controlId}|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8|FR||2.11^IHE_FRANCE-2.11-PAM",
            $"EVN||{now}",
            $"PID|1||{ins}^^^ASIP-SANTE-INS-NIR&{DossierSeed.InsOid}&ISO^INS||DUPONT^JEAN^^^^^L||19790328|F" + new string('|', 24) + "VALI",
            "PV1|1|N",
            $"ZFA|ACTIF|{now}|||||||INO|{now}|IC|{now}");
    }
}
