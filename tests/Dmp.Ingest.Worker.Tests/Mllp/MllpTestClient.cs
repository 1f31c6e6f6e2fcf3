using System.Net;
using System.Net.Sockets;

namespace Dmp.Ingest.Worker.Tests.Mllp;

/// <summary>
/// A raw MLLP client for tests: writes frames or arbitrary bytes, reads answer frames, notices when the
/// server closes. Independent of the product's own client so the tests check the wire, not our code.
/// </summary>
internal sealed class MllpTestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly List<byte> _pending = [];
    private bool _closed;

    private MllpTestClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<MllpTestClient> ConnectAsync(IPEndPoint endpoint)
    {
        var tcp = new TcpClient { NoDelay = true };
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await tcp.ConnectAsync(endpoint, timeout.Token);
        return new MllpTestClient(tcp);
    }

    /// <summary>A client over a socket the caller connected (from a chosen local address, say).</summary>
    public static MllpTestClient FromSocket(Socket connected) => new(new TcpClient { Client = connected, NoDelay = true });

    public static byte[] Frame(byte[] payload) => [0x0B, .. payload, 0x1C, 0x0D];

    /// <summary>Writes bytes as they are (framing is the caller's business).</summary>
    public async Task WriteRawAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(bytes, timeout.Token);
    }

    public Task WriteFrameAsync(byte[] payload) => WriteRawAsync(Frame(payload));

    /// <summary>Sends one framed message and returns the answer frame's payload (null when the server closed).</summary>
    public async Task<byte[]?> SendAsync(byte[] payload)
    {
        await WriteFrameAsync(payload);
        return await ReadFrameAsync();
    }

    /// <summary>The next answer frame's payload; null when the server closed the connection first. Throws TimeoutException on a hang.</summary>
    public async Task<byte[]?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            if (TryTakeFrame(out var frame))
                return frame;
            if (_closed)
                return null;
            int read;
            try
            {
                read = await _stream.ReadAsync(_buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("no answer frame from the MLLP server in time");
            }
            catch (IOException)
            {
                read = 0; // reset by the server
            }
            if (read == 0)
                _closed = true;
            else
                _pending.AddRange(_buffer.AsSpan(0, read));
        }
    }

    /// <summary>True when the server closes the connection (after any answer frames) within the timeout; false when it stays open.</summary>
    public async Task<bool> WaitClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!_closed)
        {
            try
            {
                var read = await _stream.ReadAsync(_buffer, cts.Token);
                if (read == 0)
                    _closed = true;
                else
                    _pending.AddRange(_buffer.AsSpan(0, read));
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (IOException)
            {
                _closed = true;
            }
        }
        return true;
    }

    /// <summary>Half-closes (FIN) the sending side, as a sender that stops mid-frame.</summary>
    public void ShutdownSend() => _tcp.Client.Shutdown(SocketShutdown.Send);

    private bool TryTakeFrame(out byte[] frame)
    {
        frame = [];
        var start = _pending.IndexOf(0x0B);
        if (start < 0)
            return false;
        for (var i = start + 1; i + 1 < _pending.Count; i++)
        {
            if (_pending[i] == 0x1C && _pending[i + 1] == 0x0D)
            {
                frame = _pending.GetRange(start + 1, i - start - 1).ToArray();
                _pending.RemoveRange(0, i + 2);
                return true;
            }
        }
        return false;
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
