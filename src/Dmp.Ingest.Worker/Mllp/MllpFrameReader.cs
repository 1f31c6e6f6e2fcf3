using System.Buffers;
using System.Security.Cryptography;

namespace Dmp.Ingest.Worker.Mllp;

/// <summary>
/// Finds MLLP frames (`0x0B payload 0x1C 0x0D`) in a connection's byte stream. Partial frames stay in
/// the pipe; bytes outside frames are gathered into one "outside any frame" burst (kept like an oversize
/// frame: prefix, length, SHA-256), handed over before the frame that ends it or by <see cref="TakeStray"/>
/// (whitespace between frames is only counted); a frame longer than the limit switches
/// to "oversize" mode, which keeps its first bytes and hashes the rest as it streams past, so the
/// frame can be recorded (prefix, length, SHA-256) without ever being held in memory.
/// </summary>
public sealed class MllpFrameReader(long maxFrameBytes, int keptPrefixBytes = MllpFrameReader.DefaultKeptPrefix)
{
    public const byte StartBlock = 0x0B;
    public const byte EndBlock = 0x1C;
    public const byte CarriageReturn = 0x0D;
    public const int DefaultKeptPrefix = 64 * 1024;

    private OversizeFrame? _oversize;
    private OversizeFrame? _stray;
    private bool _strayIsWhitespace = true;

    /// <summary>Whitespace bytes skipped between frames since the last call to <see cref="TakeSkipped"/>.</summary>
    public long Skipped { get; private set; }

    public long TakeSkipped()
    {
        var skipped = Skipped;
        Skipped = 0;
        return skipped;
    }

    /// <summary>True while an oversize frame is streaming past.</summary>
    public bool InOversizeFrame => _oversize is not null;

    /// <summary>
    /// Reads the next complete frame from <paramref name="buffer"/>, advancing it past what was
    /// consumed. Returns false when more bytes are needed.
    /// </summary>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out MllpFrame frame)
    {
        frame = default;
        if (_oversize is { } big)
            return ContinueOversize(ref buffer, big, out frame);

        // Bytes before the start block belong to the current burst outside any frame.
        var start = buffer.PositionOf(StartBlock);
        if (start is null)
        {
            AppendStray(buffer);
            buffer = buffer.Slice(buffer.End);
            return false;
        }
        AppendStray(buffer.Slice(0, start.Value));
        buffer = buffer.Slice(start.Value);
        if (TakeStray() is { } stray)
        {
            // The burst ends where this frame starts: it is handed over first, the frame on the next call.
            frame = stray;
            return true;
        }

        var payload = buffer.Slice(1);
        var reader = new SequenceReader<byte>(payload);
        ReadOnlySpan<byte> delimiters = [EndBlock, StartBlock];
        while (reader.TryAdvanceToAny(delimiters, advancePastDelimiter: false))
        {
            var at = reader.Consumed; // index of the delimiter within payload
            if (at > maxFrameBytes)
                break;
            reader.TryRead(out var delimiter);
            if (delimiter == StartBlock)
            {
                // A new frame starts before this one ended: the sender gave up on it.
                frame = new MllpFrame(payload.Slice(0, at).ToArray(), at, null, false) { Interrupted = true };
                buffer = buffer.Slice(payload.GetPosition(at));
                return true;
            }
            if (!reader.TryPeek(out var next))
            {
                // 0x1C is the last byte so far: wait for the CR.
                return false;
            }
            if (next != CarriageReturn)
                continue; // a 0x1C inside the payload without CR: not the end.
            frame = new MllpFrame(payload.Slice(0, at).ToArray(), at, null, false);
            buffer = buffer.Slice(payload.GetPosition(at + 2));
            return true;
        }

        if (payload.Length <= maxFrameBytes)
            return false;

        // Longer than allowed and not finished: keep the prefix, hash what streams by.
        var oversize = new OversizeFrame(keptPrefixBytes);
        _oversize = oversize;
        buffer = buffer.Slice(1); // past the start block
        return ContinueOversize(ref buffer, oversize, out frame);
    }

    private bool ContinueOversize(ref ReadOnlySequence<byte> buffer, OversizeFrame big, out MllpFrame frame)
    {
        frame = default;
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryAdvanceTo(EndBlock, advancePastDelimiter: true))
        {
            if (!reader.TryPeek(out var next))
            {
                // Hash everything before the 0x1C and keep it for the next read.
                var upTo = buffer.Slice(0, reader.Consumed - 1);
                big.Append(upTo);
                buffer = buffer.Slice(reader.Consumed - 1);
                return false;
            }
            if (next != CarriageReturn)
                continue;
            big.Append(buffer.Slice(0, reader.Consumed - 1));
            buffer = buffer.Slice(reader.Consumed + 1);
            frame = big.Finish(complete: true);
            _oversize = null;
            return true;
        }
        big.Append(buffer);
        buffer = buffer.Slice(buffer.End);
        return false;
    }

    /// <summary>Bytes of the burst outside any frame seen so far (0 when there is none).</summary>
    public long StrayBytesSeen => _stray?.Length ?? 0;

    /// <summary>
    /// Ends the current burst of bytes outside any frame: a frame for it (<see cref="MllpFrame.OutsideFrame"/>),
    /// or null when there is none or it was only whitespace (line ends some senders put between frames; counted in <see cref="Skipped"/>).
    /// </summary>
    public MllpFrame? TakeStray()
    {
        var stray = _stray;
        var whitespace = _strayIsWhitespace;
        _stray = null;
        _strayIsWhitespace = true;
        if (stray is null)
            return null;
        if (whitespace)
        {
            Skipped += stray.Length;
            stray.Finish(complete: true);
            return null;
        }
        return stray.Finish(complete: true) with { Oversize = false, OutsideFrame = true };
    }

    private void AppendStray(ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsEmpty)
            return;
        _stray ??= new OversizeFrame(keptPrefixBytes);
        if (_strayIsWhitespace)
        {
            foreach (var segment in bytes)
            {
                if (segment.Span.IndexOfAnyExcept(" \t\r\n"u8) >= 0)
                {
                    _strayIsWhitespace = false;
                    break;
                }
            }
        }
        _stray.Append(bytes);
    }

    /// <summary>
    /// Ends an oversize frame that will never be finished (the sender stopped, or the reader gives up
    /// before reading the rest): what was seen is recorded.
    /// </summary>
    public MllpFrame? AbandonOversize()
    {
        var big = _oversize;
        _oversize = null;
        return big?.Finish(complete: false);
    }

    /// <summary>Bytes of the oversize frame seen so far.</summary>
    public long OversizeBytesSeen => _oversize?.Length ?? 0;

    private sealed class OversizeFrame(int keep)
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _prefix = new byte[keep];
        private int _prefixLength;
        public long Length { get; private set; }

        public void Append(ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes)
            {
                var span = segment.Span;
                _hash.AppendData(span);
                if (_prefixLength < _prefix.Length)
                {
                    var take = Math.Min(span.Length, _prefix.Length - _prefixLength);
                    span[..take].CopyTo(_prefix.AsSpan(_prefixLength));
                    _prefixLength += take;
                }
                Length += span.Length;
            }
        }

        public MllpFrame Finish(bool complete)
        {
            var hash = _hash.GetHashAndReset();
            _hash.Dispose();
            return new MllpFrame(_prefix.AsSpan(0, _prefixLength).ToArray(), Length, hash, true) { Complete = complete };
        }
    }
}

/// <summary>
/// One frame's payload. For an oversize frame, <see cref="Payload"/> holds only its first bytes,
/// <see cref="Length"/> the full length and <see cref="Sha256"/> the hash of all of it.
/// </summary>
public readonly record struct MllpFrame(byte[] Payload, long Length, byte[]? Sha256, bool Oversize)
{
    /// <summary>False when an oversize frame ended without its end block (connection closed or cut off).</summary>
    public bool Complete { get; init; } = true;

    /// <summary>True when a new start block arrived before this frame's end block.</summary>
    public bool Interrupted { get; init; }

    /// <summary>
    /// Not a frame: a burst of bytes that came outside any frame (before a start block, or between frames).
    /// <see cref="Payload"/> holds its first bytes, <see cref="Length"/> and <see cref="Sha256"/> all of it.
    /// </summary>
    public bool OutsideFrame { get; init; }
}
