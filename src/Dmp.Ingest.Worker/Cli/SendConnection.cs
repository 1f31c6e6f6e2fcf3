using Dmp.Ingest.Worker.Mllp;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>The one MLLP connection `send` keeps open, and what was sent on it without waiting for an answer.</summary>
internal sealed class SendConnection(SendVerb.SendSettings settings) : IAsyncDisposable
{
    // Control ids sent with MSH-15 NE/ER: a peer that ACKs them anyway must not have that ACK taken for the next message's.
    private readonly HashSet<string> _unanswered = new(StringComparer.Ordinal);

    public MllpClient? Client { get; private set; }

    public string Endpoint => $"{settings.Host}:{settings.Port}";

    /// <summary>Connects (and shakes hands) within the timeout; failures become <see cref="SendFailure"/>.</summary>
    public async Task<MllpClient> OpenAsync(CancellationToken ct)
    {
        if (Client is not null)
            return Client;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(settings.Timeout);
        try
        {
            Client = await MllpClient.ConnectAsync(settings.Host, settings.Port, settings.Tls, cts.Token);
            return Client;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new SendFailure($"cannot connect to {Endpoint} within {settings.Timeout.TotalSeconds:0.#} s{(settings.Tls.Enabled ? " (TCP connection and TLS handshake)" : "")}", retry: true);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new SendFailure($"cannot connect to {Endpoint}: {e.Message}", retry: true);
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            // Certificates do not get better by retrying.
            throw new SendFailure($"TLS handshake with {Endpoint} failed: {e.Message}{(e.InnerException is { } inner ? " (" + inner.Message + ")" : "")}", retry: false);
        }
        catch (IOException e) when (settings.Tls.Enabled)
        {
            throw new SendFailure($"TLS handshake with {Endpoint} failed: {e.Message} (is it a TLS listener? does it want a client certificate?)", retry: true);
        }
    }

    public void SentWithoutAnswer(string? controlId)
    {
        if (controlId is not null)
            _unanswered.Add(controlId);
    }

    /// <summary>The answer to <paramref name="controlId"/>, skipping ACKs of messages that asked for none; null when the connection closed.</summary>
    public async Task<byte[]?> ReadAnswerAsync(string? controlId, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"no answer within {timeout.TotalSeconds:0.#} s");
            var frame = await Client!.ReadFrameAsync(left, ct);
            if (frame is null)
                return null;
            var acknowledged = Hl7Message.Parse(frame) is { Message: { } ack } ? AckBuilder.ReadAck(ack).AcknowledgedControlId : null;
            if (acknowledged is not null && acknowledged != controlId && _unanswered.Remove(acknowledged))
                continue;
            return frame;
        }
    }

    public string? CloseReason => Client?.CloseReason;

    /// <summary>The usual reasons a listener closes without a word, as far as the TLS settings tell.</summary>
    internal static string ClosedHint(MllpClientTls tls) => tls switch
    {
        { Enabled: false } => "; if it is a TLS listener, add --tls",
        { ClientCertificate: null } => "; if it requires a client certificate, give --tls-cert and --tls-key",
        _ => "; if it requires a client certificate, it may not accept this one",
    };

    public async ValueTask DisposeAsync()
    {
        _unanswered.Clear();
        if (Client is not null)
        {
            try
            {
                await Client.DisposeAsync();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // Closing a broken connection.
            }
            Client = null;
        }
    }
}

/// <summary>Why a message could not be sent, and whether trying again may help.</summary>
internal sealed class SendFailure(string message, bool retry) : Exception(message)
{
    public bool Retry { get; } = retry;
}

