using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>TLS settings of the MLLP client (`send`, load generator).</summary>
public sealed record MllpClientTls(bool Enabled, string? ServerName = null, X509Certificate2? ClientCertificate = null, string? TrustedCaPath = null, bool AcceptAnyServerCertificate = false);

/// <summary>
/// A plain MLLP client: one connection, one frame at a time, waits for the answer frame.
/// </summary>
public sealed class MllpClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly MemoryStream _pending = new();

    private MllpClient(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
    }

    public static async Task<MllpClient> ConnectAsync(string host, int port, MllpClientTls? tls, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, cancellationToken);
            Stream stream = tcp.GetStream();
            if (tls is { Enabled: true })
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, certificate, chain, errors) => ValidateServer(tls, certificate, chain, errors));
                var options = new SslClientAuthenticationOptions
                {
                    TargetHost = tls.ServerName ?? host,
                    ClientCertificates = tls.ClientCertificate is null ? null : new X509CertificateCollection { tls.ClientCertificate },
                };
                await ssl.AuthenticateAsClientAsync(options, cancellationToken);
                stream = ssl;
            }
            return new MllpClient(tcp, stream);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static bool ValidateServer(MllpClientTls tls, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None || tls.AcceptAnyServerCertificate)
            return true;
        if (tls.TrustedCaPath is null || certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return false;
        var cas = new X509Certificate2Collection();
        try
        {
            // A PEM bundle may hold several CAs; a DER file holds one.
            if (File.ReadAllText(tls.TrustedCaPath).Contains("-----BEGIN", StringComparison.Ordinal))
                cas.ImportFromPemFile(tls.TrustedCaPath);
            else
                cas.Add(X509CertificateLoader.LoadCertificateFromFile(tls.TrustedCaPath));
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(cas);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            // The intermediates the server sent.
            if (presented is not null)
                foreach (var element in presented.ChainElements)
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            using var server = new X509Certificate2(certificate);
            var trusted = chain.Build(server);
            foreach (var element in chain.ChainElements)
                element.Certificate.Dispose();
            return trusted;
        }
        finally
        {
            foreach (var ca in cas)
                ca.Dispose();
        }
    }

    /// <summary>Sends one message framed and returns the payload of the answer frame, or null when the server closed.</summary>
    public async Task<byte[]?> SendAsync(ReadOnlyMemory<byte> message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await WriteFrameAsync(message, cancellationToken);
        return await ReadFrameAsync(timeout, cancellationToken);
    }

    public async Task WriteFrameAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        var frame = ArrayPool<byte>.Shared.Rent(message.Length + 3);
        try
        {
            frame[0] = MllpFrameReader.StartBlock;
            message.Span.CopyTo(frame.AsSpan(1));
            frame[message.Length + 1] = MllpFrameReader.EndBlock;
            frame[message.Length + 2] = MllpFrameReader.CarriageReturn;
            await _stream.WriteAsync(frame.AsMemory(0, message.Length + 3), cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Why the last read found the connection closed by an error (a reset, a TLS alert), when it did.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>Reads the next frame; null when the server closed the connection; throws <see cref="TimeoutException"/>.</summary>
    public async Task<byte[]?> ReadFrameAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            if (TryTakeFrame(out var payload))
                return payload;
            int read;
            try
            {
                read = await _stream.ReadAsync(_buffer, cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no answer within {timeout.TotalSeconds:0.#} s");
            }
            catch (IOException e)
            {
                CloseReason = e.InnerException?.Message ?? e.Message;
                return null;
            }
            if (read == 0)
                return null;
            _pending.Write(_buffer, 0, read);
        }
    }

    private bool TryTakeFrame(out byte[] payload)
    {
        payload = [];
        var data = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
        var start = data.IndexOf(MllpFrameReader.StartBlock);
        if (start < 0)
            return false;
        var end = data[start..].IndexOf([MllpFrameReader.EndBlock, MllpFrameReader.CarriageReturn]);
        if (end < 0)
            return false;
        payload = data.Slice(start + 1, end - 1).ToArray();
        var rest = data[(start + end + 2)..].ToArray();
        _pending.SetLength(0);
        _pending.Write(rest);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
