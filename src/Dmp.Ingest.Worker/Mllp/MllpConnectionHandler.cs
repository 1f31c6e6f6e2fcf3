using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using Dmp.Ingest.Worker.Pipeline;
using Dmp.Ingest.Worker.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>
/// MLLP on Kestrel: reads frames from the connection's pipe, stores each through the
/// <see cref="InboundReceiver"/> (frames that arrived together share one commit) and writes the ACKs
/// back in order once durable. Bad input is answered and recorded; it never brings the listener down.
/// Each connection is matched to the configured senders once (address, client certificate); each frame is
/// then checked against what they may send.
/// </summary>
public sealed class MllpConnectionHandler(
    InboundReceiver receiver,
    IOptions<MllpOptions> options,
    MllpConnectionLimiter limiter,
    SenderDirectory senders,
    ByteBudget budget,
    ILogger<MllpConnectionHandler> logger,
    TimeProvider time,
    GatewayMetrics metrics) : ConnectionHandler
{
    private readonly MllpOptions _options = options.Value;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var remote = connection.RemoteEndPoint?.ToString();
        var address = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (!limiter.TryEnter(address, out var perAddress))
        {
            if (perAddress)
                logger.LogWarning(MllpLog.TooManyConnections, "MLLP connection from {Remote} refused: {Max} connections already open from that address (Dmp:Mllp:MaxConnectionsPerAddress)", remote, _options.MaxConnectionsPerAddress);
            else
                logger.LogWarning(MllpLog.TooManyConnections, "MLLP connection from {Remote} refused: {Max} connections already open (Dmp:Mllp:MaxConnections)", remote, _options.MaxConnections);
            connection.Abort();
            return;
        }
        logger.LogDebug(MllpLog.Connected, "MLLP connection {ConnectionId} from {Remote}", connection.ConnectionId, remote);
        try
        {
            var certificate = connection.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;
            var authority = senders.Match(address, certificate);
            if (authority.Unmatched)
                logger.LogWarning(MllpLog.UnknownSender, "MLLP connection {ConnectionId} from {Remote} matches no configured sender (Dmp:Mllp:Senders): its frames are refused", connection.ConnectionId, remote);
            await ServeAsync(connection, new Peer(remote, authority));
        }
        catch (Exception e) when (e is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException)
        {
            logger.LogDebug(MllpLog.Closed, "MLLP connection {ConnectionId} ended: {Reason}", connection.ConnectionId, e.GetType().Name);
        }
        catch (Exception e)
        {
            // A bug or broken storage: this connection ends without an ACK (the sender will resend), the listener goes on.
            logger.LogError(MllpLog.Failed, e, "MLLP connection {ConnectionId} from {Remote} failed; unacknowledged frames will be resent by the sender", connection.ConnectionId, remote);
        }
        finally
        {
            limiter.Exit(address);
        }
    }

    /// <summary>Who is at the other end of a connection: its endpoint (for the row) and what it may send.</summary>
    private sealed record Peer(string? Remote, SenderAuthority Senders);

    private async Task ServeAsync(ConnectionContext connection, Peer remote)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        // An oversize frame keeps at most its first 64 KiB, and never more than a frame may hold: a
        // refused frame must not cost more memory (or storage) than an accepted one.
        var frames = new MllpFrameReader(_options.MaxFrameBytes, (int)Math.Min(MllpFrameReader.DefaultKeptPrefix, _options.MaxFrameBytes));
        var idle = TimeSpan.FromSeconds(_options.IdleTimeoutSeconds);
        DateTimeOffset? oversizeSince = null;
        long unfinishedBytes = 0; // bytes of an unfinished frame left in the pipe by the previous read
        long heldForPartial = 0;  // budget held for those bytes, so the global budget bounds memory

        try
        {
        while (true)
        {
            // The idle timer cancels the pending read (rather than a token) so the read still hands
            // back the bytes of a frame the sender left unfinished: they are stored, not dropped.
            ReadResult result;
            bool idleExpired;
            using (var idleTimer = new CancellationTokenSource(idle))
            {
                using (idleTimer.Token.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), input))
                    // No token: a sender that writes and closes at once must still have its frames read.
                    result = await input.ReadAsync();
                idleExpired = result.IsCanceled && idleTimer.IsCancellationRequested && result.Buffer.Length == unfinishedBytes;
            }
            if (idleExpired)
            {
                logger.LogInformation(MllpLog.Idle, "MLLP connection {ConnectionId} from {Remote} closed after {Seconds} s without data", connection.ConnectionId, remote.Remote, _options.IdleTimeoutSeconds);
                var unfinished = result.Buffer;
                try
                {
                    await StoreStrayAsync(output, frames, remote, connection.ConnectionId, $"then the connection stayed idle for {_options.IdleTimeoutSeconds} s");
                    if (frames.InOversizeFrame)
                        await AnswerAsync(output, [frames.AbandonOversize()!.Value], remote);
                    else if (!unfinished.IsEmpty)
                        await StoreUnfinishedAsync(unfinished, remote, $"connection idle for {_options.IdleTimeoutSeconds} s (Dmp:Mllp:IdleTimeoutSeconds)");
                }
                finally
                {
                    input.AdvanceTo(unfinished.End);
                }
                return;
            }

            var buffer = result.Buffer;
            var ready = new List<MllpFrame>();
            while (frames.TryRead(ref buffer, out var frame))
            {
                ready.Add(frame);
                if (frame.Oversize)
                    break; // nothing after an oversize frame is read: the connection closes.
            }
            var skipped = frames.TakeSkipped();
            if (skipped > 0)
                logger.LogDebug(MllpLog.Skipped, "MLLP connection {ConnectionId} from {Remote}: {Bytes} bytes of whitespace between frames skipped", connection.ConnectionId, remote.Remote, skipped);
            // A burst outside any frame that grows past a frame's limit is no MLLP sender: keep what it sent, close.
            var strayTooLong = frames.StrayBytesSeen > _options.MaxFrameBytes;

            var partial = buffer;
            unfinishedBytes = partial.Length;
            input.AdvanceTo(buffer.Start, buffer.End);
            // Give back what the unfinished frame held before storing complete frames takes its share:
            // a connection never waits for budget while holding some (no two connections wait on each other).
            if (heldForPartial > 0)
            {
                budget.Release(heldForPartial);
                heldForPartial = 0;
            }

            if (frames.InOversizeFrame)
            {
                oversizeSince ??= time.GetUtcNow();
                var tooLong = time.GetUtcNow() - oversizeSince > TimeSpan.FromSeconds(_options.OversizeDrainSeconds)
                    || frames.OversizeBytesSeen > 4 * _options.MaxFrameBytes;
                if (tooLong || result.IsCompleted)
                    ready.Add(frames.AbandonOversize()!.Value);
            }

            if (ready.Count > 0)
            {
                var mustClose = await AnswerAsync(output, ready, remote);
                if (mustClose)
                {
                    logger.LogWarning(MllpLog.Oversize, "MLLP connection {ConnectionId} from {Remote} closed after a frame larger than {Max} bytes (Dmp:Mllp:MaxFrameBytes)", connection.ConnectionId, remote.Remote, _options.MaxFrameBytes);
                    return;
                }
            }
            if (strayTooLong)
            {
                await StoreStrayAsync(output, frames, remote, connection.ConnectionId, $"more than Dmp:Mllp:MaxFrameBytes ({_options.MaxFrameBytes}) of them, so the connection was closed");
                return;
            }

            // (A read cancelled by an idle timer that fired just as data came is simply read again.)
            if (result.IsCompleted)
            {
                await StoreStrayAsync(output, frames, remote, connection.ConnectionId, "then the connection closed");
                if (!partial.IsEmpty && !frames.InOversizeFrame)
                    await StoreUnfinishedAsync(partial, remote, "connection closed");
                return;
            }

            // The unfinished frame waiting in the pipe counts against the global in-flight budget too:
            // when the budget is spent this connection stops reading (TCP pushes back on the sender).
            var want = frames.InOversizeFrame ? 0 : partial.Length;
            if (want > 0)
            {
                using var wait = new CancellationTokenSource(idle);
                try
                {
                    heldForPartial = await budget.AcquireAsync(want, wait.Token);
                }
                catch (OperationCanceledException)
                {
                    logger.LogWarning(MllpLog.Oversize, "MLLP connection {ConnectionId} from {Remote} closed: the in-flight budget (Dmp:Mllp:MaxInFlightBytes) stayed spent for {Seconds} s", connection.ConnectionId, remote.Remote, _options.IdleTimeoutSeconds);
                    await StoreUnfinishedAsync(partial, remote, "in-flight budget (Dmp:Mllp:MaxInFlightBytes) spent");
                    return;
                }
            }
        }
        }
        finally
        {
            if (heldForPartial > 0)
                budget.Release(heldForPartial);
        }
    }

    /// <summary>
    /// Keeps the start of a frame whose end never came (the sender closed or went silent): stored
    /// rejected, nobody to answer. <paramref name="unfinished"/> starts at the frame's start block.
    /// </summary>
    private async Task StoreUnfinishedAsync(ReadOnlySequence<byte> unfinished, Peer remote, string why)
    {
        var payload = unfinished.Slice(1).ToArray();
        await receiver.ReceiveAsync(new ReceivedInput(_options.Channel, payload, remote.Remote)
        {
            RefusedBecause = $"{why} after {payload.Length} bytes of a frame, before its end (0x1C 0x0D)",
            Senders = remote.Senders,
        }, CancellationToken.None);
    }

    /// <summary>Stores the burst of bytes outside any frame the connection ends with, if any (never answered).</summary>
    private async Task StoreStrayAsync(PipeWriter output, MllpFrameReader frames, Peer remote, string connectionId, string then)
    {
        if (frames.TakeStray() is not { } stray)
            return;
        logger.LogWarning(MllpLog.Skipped, "MLLP connection {ConnectionId} from {Remote}: {Bytes} bytes outside any frame stored as a rejected message, {Then}", connectionId, remote.Remote, stray.Length, then);
        await AnswerAsync(output, [stray], remote);
    }

    /// <summary>Stores the frames (one commit for all when possible) and writes their answers in order. True when the connection must close.</summary>
    private async Task<bool> AnswerAsync(PipeWriter output, IReadOnlyList<MllpFrame> ready, Peer remote)
    {
        // The frames were read whole just now: the ACK latency runs from here to the flush of their answers.
        var readAt = Stopwatch.GetTimestamp();
        long held = 0;
        foreach (var f in ready)
            held += f.Payload.Length;
        // Frames already read are stored even if the sender has gone: wait for the budget regardless.
        var acquired = await budget.AcquireAsync(held, CancellationToken.None);
        try
        {
            var pending = new Task<ReceiveOutcome>[ready.Count];
            for (var i = 0; i < ready.Count; i++)
                pending[i] = receiver.ReceiveAsync(ToInput(ready[i], remote), CancellationToken.None);
            var mustClose = false;
            List<System.Diagnostics.Activity>? ackSpans = null;
            var answered = 0;
            for (var i = 0; i < ready.Count; i++)
            {
                var outcome = await pending[i];
                if (outcome.Ack is { } ack)
                {
                    if (Telemetry.MessageTracing.StartAck(outcome.Trace, outcome.AckCode) is { } span)
                        (ackSpans ??= []).Add(span);
                    WriteFrame(output, ack);
                    metrics.Acked(_options.Channel, outcome.SenderName, outcome.AckCode ?? AckCodeOf(ack));
                    answered++;
                }
                mustClose |= ready[i].Oversize;
            }
            // No token: a flush to a sender that has already closed just completes, and frames it sent
            // before closing are still in the pipe to be read and stored (cancelling here dropped them).
            await output.FlushAsync();
            ackSpans?.ForEach(span => span.Dispose());
            for (var i = 0; i < answered; i++)
                metrics.AckWritten(readAt);
            return mustClose;
        }
        finally
        {
            budget.Release(acquired);
        }
    }

    private ReceivedInput ToInput(MllpFrame frame, Peer peer)
    {
        var remote = peer.Remote;
        if (frame.OutsideFrame)
        {
            var kept = frame.Length > frame.Payload.Length ? $"; its first {frame.Payload.Length} bytes are kept" : "";
            return new ReceivedInput(_options.Channel, frame.Payload, remote)
            {
                Length = frame.Length, Sha256 = frame.Sha256, OutsideFrame = true, Senders = peer.Senders,
                RefusedBecause = $"{frame.Length} bytes arrived outside any MLLP frame (not between a start block 0x0B and an end 0x1C 0x0D){kept}",
            };
        }
        if (frame.Oversize)
        {
            var why = frame.Complete
                ? $"frame of {frame.Length} bytes exceeds Dmp:Mllp:MaxFrameBytes ({_options.MaxFrameBytes}); its first {frame.Payload.Length} bytes are kept"
                : $"frame exceeds Dmp:Mllp:MaxFrameBytes ({_options.MaxFrameBytes}) and was cut off after {frame.Length} bytes; its first {frame.Payload.Length} bytes are kept";
            return new ReceivedInput(_options.Channel, frame.Payload, remote) { Length = frame.Length, Sha256 = frame.Sha256, RefusedBecause = why, Senders = peer.Senders };
        }
        if (frame.Interrupted)
        {
            return new ReceivedInput(_options.Channel, frame.Payload, remote)
            {
                RefusedBecause = "frame interrupted: a new start block (0x0B) arrived before its end (0x1C 0x0D)",
                Senders = peer.Senders,
            };
        }
        return new ReceivedInput(_options.Channel, frame.Payload, remote) { Senders = peer.Senders };
    }

    /// <summary>MSA-1 of an ACK whose code was not kept with it (AA … CR); `other` when it does not read.</summary>
    private static string AckCodeOf(byte[] ack)
    {
        var msa = ack.AsSpan().IndexOf("MSA|"u8);
        if (msa < 0 || ack.Length < msa + 6)
            return "other";
        var code = System.Text.Encoding.ASCII.GetString(ack, msa + 4, 2);
        return code is "AA" or "AE" or "AR" or "CA" or "CE" or "CR" ? code : "other";
    }

    private static void WriteFrame(PipeWriter output, byte[] payload)
    {
        var span = output.GetSpan(payload.Length + 3);
        span[0] = MllpFrameReader.StartBlock;
        payload.CopyTo(span[1..]);
        span[payload.Length + 1] = MllpFrameReader.EndBlock;
        span[payload.Length + 2] = MllpFrameReader.CarriageReturn;
        output.Advance(payload.Length + 3);
    }
}

/// <summary>
/// Counts open MLLP connections against `Dmp:Mllp:MaxConnections`, and those of each address against
/// `Dmp:Mllp:MaxConnectionsPerAddress` (one address cannot take every slot).
/// </summary>
public sealed class MllpConnectionLimiter(IOptions<MllpOptions> options)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, int> _byAddress = [];
    private int _open;
    public int Open => Volatile.Read(ref _open);

    /// <summary>Open connections from <paramref name="address"/> (IPv4-mapped IPv6 counted as IPv4).</summary>
    public int OpenFrom(IPAddress address)
    {
        lock (_gate)
            return _byAddress.GetValueOrDefault(SenderDirectory.Normalise(address));
    }

    /// <summary>Takes a slot for a connection from <paramref name="address"/>; false (and which limit) when one is reached.</summary>
    public bool TryEnter(IPAddress? address, out bool perAddressLimit)
    {
        perAddressLimit = false;
        if (Interlocked.Increment(ref _open) > options.Value.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            return false;
        }
        if (address is null)
            return true;
        address = SenderDirectory.Normalise(address);
        lock (_gate)
        {
            var open = _byAddress.GetValueOrDefault(address);
            if (open < options.Value.MaxConnectionsPerAddress)
            {
                _byAddress[address] = open + 1;
                return true;
            }
        }
        Interlocked.Decrement(ref _open);
        perAddressLimit = true;
        return false;
    }

    public void Exit(IPAddress? address)
    {
        if (address is not null)
        {
            address = SenderDirectory.Normalise(address);
            lock (_gate)
            {
                var open = _byAddress.GetValueOrDefault(address) - 1;
                if (open <= 0)
                    _byAddress.Remove(address);
                else
                    _byAddress[address] = open;
            }
        }
        Interlocked.Decrement(ref _open);
    }
}

/// <summary>Event ids of the MLLP listener's log lines.</summary>
internal static class MllpLog
{
    public static readonly EventId Listening = new(2000, "MllpListening");
    public static readonly EventId Connected = new(2001, "MllpConnected");
    public static readonly EventId Closed = new(2002, "MllpClosed");
    public static readonly EventId Failed = new(2003, "MllpFailed");
    public static readonly EventId Idle = new(2004, "MllpIdle");
    public static readonly EventId Skipped = new(2005, "MllpBytesSkipped");
    public static readonly EventId Oversize = new(2006, "MllpOversize");
    public static readonly EventId TooManyConnections = new(2007, "MllpTooManyConnections");
    public static readonly EventId UnknownSender = new(2008, "MllpUnknownSender");
}
