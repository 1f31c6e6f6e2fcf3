using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace Dmp.LoadGen;

/// <summary>
/// The bare group-commit MLLP server the gateway is measured against: each frame is appended to one file as it came
/// (start block to end block), every frame waiting when the writer comes round shares one write and one fsync, and
/// only then are their ACKs (MSA|AA with the frame's MSH-10) written back. No parsing beyond MSH-10, no database, no
/// deduplication (a resent frame is appended and answered again): what is left between it and the gateway is the
/// gateway's own work.
/// </summary>
public sealed class ReferenceServer : IAsyncDisposable
{
    public const string FileName = "frames.mllp";

    private readonly TcpListener _listener;
    private readonly SafeFileHandle _file;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Task _writing;
    private long _groups;
    private long _frames;

    private ReferenceServer(TcpListener listener, SafeFileHandle file, long offset)
    {
        _listener = listener;
        _file = file;
        _writing = Task.Run(() => WriteAsync(offset));
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The file the frames are appended to.</summary>
    public string Path { get; private init; } = "";

    /// <summary>Fsyncs so far (one per group).</summary>
    public long Groups => Interlocked.Read(ref _groups);

    /// <summary>Frames made durable so far.</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>Listens on <paramref name="host"/>:<paramref name="port"/> (0: a free port), appending to <see cref="FileName"/> in <paramref name="directory"/>.</summary>
    public static ReferenceServer Start(IPAddress host, int port, string directory)
    {
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, FileName);
        var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        var listener = new TcpListener(host, port);
        try
        {
            listener.Start(512);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        return new ReferenceServer(listener, file, RandomAccess.GetLength(file)) { Path = path };
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            socket.NoDelay = true;
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    /// <summary>Reads what the socket holds, hands every complete frame to the writer, and answers them together once durable.</summary>
    private async Task ServeAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        var count = 0;
        var waiting = new List<Pending>();
        var answer = new List<byte>(1024);
        try
        {
            using (socket)
            {
                while (true)
                {
                    if (count == buffer.Length)
                        Array.Resize(ref buffer, buffer.Length * 2);
                    var read = await socket.ReceiveAsync(buffer.AsMemory(count), SocketFlags.None, _stop.Token);
                    if (read == 0)
                        return;
                    count += read;
                    var consumed = 0;
                    while (NextFrame(buffer.AsSpan(consumed, count - consumed)) is var (start, end) && end >= 0)
                    {
                        // start..end+2 is 0x0B payload 0x1C 0x0D, appended as it came (the buffer is not reused before the writer is done).
                        var pending = new Pending(buffer.AsMemory(consumed + start, end - start + 2));
                        waiting.Add(pending);
                        _queue.Writer.TryWrite(pending);
                        consumed += end + 2;
                    }
                    if (waiting.Count == 0)
                        continue;
                    answer.Clear();
                    foreach (var pending in waiting)
                    {
                        await pending.Durable.Task;
                        AppendAck(answer, pending.Frame.Span[1..^2]);
                    }
                    waiting.Clear();
                    await socket.SendAsync(answer.ToArray(), SocketFlags.None, _stop.Token);
                    buffer.AsSpan(consumed, count - consumed).CopyTo(buffer);
                    count -= consumed;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The peer went or the server is stopping; frames not answered will be resent by the sender.
        }
    }

    /// <summary>The next frame's start block and end block (0x1C followed by 0x0D) offsets; end −1 while incomplete.</summary>
    private static (int Start, int End) NextFrame(ReadOnlySpan<byte> bytes)
    {
        var start = bytes.IndexOf(MllpTemplate.StartBlock);
        if (start < 0)
            return (-1, -1);
        for (var from = start + 1; ;)
        {
            var i = bytes[from..].IndexOf(MllpTemplate.EndBlock);
            if (i < 0 || from + i + 1 >= bytes.Length)
                return (start, -1);
            if (bytes[from + i + 1] == MllpTemplate.CarriageReturn)
                return (start, from + i);
            from += i + 1;
        }
    }

    /// <summary>The single writer: every frame queued since its last pass in one gathered write, one fsync, then their ACKs are released.</summary>
    private async Task WriteAsync(long offset)
    {
        var group = new List<Pending>();
        var chunks = new List<ReadOnlyMemory<byte>>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token))
            {
                while (_queue.Reader.TryRead(out var pending))
                {
                    group.Add(pending);
                    chunks.Add(pending.Frame);
                }
                try
                {
                    RandomAccess.Write(_file, chunks, offset);
                    RandomAccess.FlushToDisk(_file);
                    foreach (var chunk in chunks)
                        offset += chunk.Length;
                    Interlocked.Increment(ref _groups);
                    Interlocked.Add(ref _frames, group.Count);
                    foreach (var pending in group)
                        pending.Durable.TrySetResult();
                }
                catch (IOException e)
                {
                    foreach (var pending in group)
                        pending.Durable.TrySetException(e);
                }
                group.Clear();
                chunks.Clear();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            while (_queue.Reader.TryRead(out var pending))
                group.Add(pending);
            foreach (var pending in group)
                pending.Durable.TrySetCanceled();
        }
    }

    /// <summary>A framed ACK: MSH with the sender's applications swapped, MSA|AA|MSH-10.</summary>
    private static void AppendAck(List<byte> answer, ReadOnlySpan<byte> message)
    {
        var msh = message;
        var cut = msh.IndexOfAny((byte)'\r', (byte)'\n');
        if (cut >= 0)
            msh = msh[..cut];
        Span<Range> fields = stackalloc Range[12];
        var separator = msh.Length > 3 ? msh[3] : (byte)'|';
        var n = 0;
        foreach (var range in msh.Split(separator))
        {
            if (n == fields.Length)
                break;
            fields[n++] = range;
        }
        for (var i = n; i < fields.Length; i++)
            fields[i] = default; // an absent field reads empty (0..0)
        // fields[k] is MSH-(k+1) for k >= 1 (fields[0] is "MSH", MSH-1 is the separator itself).
        answer.Add(MllpTemplate.StartBlock);
        answer.AddRange("MSH|^~\\&|"u8);
        answer.AddRange(msh[fields[4]]); answer.Add((byte)'|');
        answer.AddRange(msh[fields[5]]); answer.Add((byte)'|');
        answer.AddRange(msh[fields[2]]); answer.Add((byte)'|');
        answer.AddRange(msh[fields[3]]); answer.Add((byte)'|');
        answer.AddRange(Encoding.ASCII.GetBytes(DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)));
        answer.AddRange("||ACK|"u8);
        answer.AddRange(msh[fields[9]]);
        answer.AddRange("|P|2.5\rMSA|AA|"u8);
        answer.AddRange(msh[fields[9]]);
        answer.Add(MllpTemplate.CarriageReturn);
        answer.Add(MllpTemplate.EndBlock);
        answer.Add(MllpTemplate.CarriageReturn);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        await _writing;
        _file.Dispose();
        _stop.Dispose();
    }

    private sealed class Pending(ReadOnlyMemory<byte> frame)
    {
        public ReadOnlyMemory<byte> Frame { get; } = frame;
        public TaskCompletionSource Durable { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
