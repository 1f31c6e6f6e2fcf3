using System.Globalization;
using System.Security.Cryptography;

namespace Dmp.Mapping.Hl7v2;

/// <summary>MSA-1 acknowledgement codes (HL7 table 0008): original mode A*, enhanced-mode commit C*.</summary>
public enum AckCode
{
    AA,
    AE,
    AR,
    CA,
    CE,
    CR,
}

/// <summary>HL7 table 0357 message error condition codes used in ERR.</summary>
public enum Hl7ErrorCode
{
    MessageAccepted = 0,
    SegmentSequenceError = 100,
    RequiredFieldMissing = 101,
    DataTypeError = 102,
    TableValueNotFound = 103,
    UnsupportedMessageType = 200,
    UnsupportedEventCode = 201,
    UnsupportedProcessingId = 202,
    UnsupportedVersionId = 203,
    UnknownKeyIdentifier = 204,
    DuplicateKeyIdentifier = 205,
    ApplicationRecordLocked = 206,
    ApplicationInternalError = 207,
}

/// <summary>Choices for <see cref="AckBuilder.Build"/>; every member has a sensible default.</summary>
public sealed class AckBuildOptions
{
    public static AckBuildOptions Default { get; } = new();

    /// <summary>MSH-10 of the ACK. Default: 20 random hex digits (fits the 20-character ST of v2.3–2.5).</summary>
    public Func<string>? ControlIdFactory { get; init; }

    /// <summary>Clock for MSH-7 (written with its UTC offset).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>MSH-3 when the original has no MSH-5 (or there is no original).</summary>
    public string SendingApplication { get; init; } = "DMP-INGEST";

    /// <summary>MSH-4 when the original has no MSH-6 (or there is no original).</summary>
    public string? SendingFacility { get; init; }

    /// <summary>MSH-12 when there is no original or it has no MSH-12.</summary>
    public string DefaultVersion { get; init; } = "2.5";

    /// <summary>
    /// The ERR error code. Default: derived from the error — a field named → 102 data type error, only a segment →
    /// 100 segment sequence error, no location → 207 application internal error.
    /// </summary>
    public Hl7ErrorCode? ErrorCode { get; init; }
}

/// <summary>What an acknowledgement says: MSA-1, MSA-2 and the most readable error text it carries.</summary>
public sealed record AckReply(AckCode? Code, string? RawCode, string? AcknowledgedControlId, string? Text)
{
    /// <summary>AA or CA.</summary>
    public bool IsAccepted => Code is AckCode.AA or AckCode.CA;
}

/// <summary>
/// Builds HL7 v2 acknowledgements (ACK with MSA and, on error, ERR in the style of the message's version) and reads
/// them back.
/// </summary>
public static class AckBuilder
{
    /// <summary>
    /// Builds the ACK for <paramref name="original"/> (null when the frame was not HL7: the header then comes from
    /// the options). The original's delimiters and charset are kept; MSH-5/6 and MSH-3/4 are swapped, MSH-11, MSH-12
    /// and MSH-18 copied. An ERR segment is written when an error is given or the code is not an accept: ERR-1 (ELD)
    /// up to v2.4, ERR-2/3/4/7/8 from v2.5 on.
    /// </summary>
    public static byte[] Build(Hl7Message? original, AckCode code, Hl7Error? error = null, string? text = null, AckBuildOptions? options = null)
    {
        options ??= AckBuildOptions.Default;
        var d = original?.Delimiters ?? Hl7Delimiters.Default;
        var w = new Hl7MessageWriter(d, original?.Encoding ?? Hl7Charsets.Utf8);
        var msh = original?.GetSegment(0);

        w.Segment("MSH");
        WriteSwapped(w, msh, 5, options.SendingApplication);
        WriteSwapped(w, msh, 6, options.SendingFacility);
        WriteSwapped(w, msh, 3, null);
        WriteSwapped(w, msh, 4, null);
        w.Field(FormatTimestamp(options.Time.GetLocalNow()));
        w.Field(null);
        var trigger = original?.TriggerEvent;
        if (trigger is null)
            w.Field("ACK");
        else
            w.Components("ACK", trigger, "ACK");
        w.Field(options.ControlIdFactory?.Invoke() ?? NewControlId());
        WriteCopied(w, msh, 11, "P");
        WriteCopied(w, msh, 12, options.DefaultVersion);
        for (var f = 13; f <= 17; f++)
            w.Field(null);
        WriteCopied(w, msh, 18, null);

        var version = original?.Version ?? options.DefaultVersion;
        var modern = IsAtLeast(version, 2, 5);
        var negative = code is not (AckCode.AA or AckCode.CA);
        var hasErr = error is not null || negative;
        var userText = text ?? error?.ToString();

        w.Segment("MSA");
        w.Field(code.ToString());
        WriteCopied(w, msh, 10, null);
        if (!modern || !hasErr)
            w.Field(userText);

        if (hasErr)
        {
            var errorCode = options.ErrorCode ?? DefaultErrorCode(error);
            var codeText = Describe(errorCode);
            var location = Location(original, error);
            w.Segment("ERR");
            if (!modern)
            {
                // ELD: segment ^ sequence ^ field ^ code&text&HL70357
                var eld = string.Join((char)d.Component,
                    Hl7Encoder.Escape(location.Segment, d),
                    location.Sequence,
                    location.Field,
                    d.HasSubComponent
                        ? string.Join((char)d.SubComponent, ((int)errorCode).ToString(CultureInfo.InvariantCulture), Hl7Encoder.Escape(codeText, d), "HL70357")
                        : ((int)errorCode).ToString(CultureInfo.InvariantCulture));
                w.RawField(eld);
            }
            else
            {
                w.Field(null); // ERR-1 is for backward compatibility only from v2.5
                if (location.Segment is null)
                    w.Field(null);
                else
                    w.Components(location.Segment, location.Sequence, location.Field);
                w.Components(((int)errorCode).ToString(CultureInfo.InvariantCulture), codeText, "HL70357");
                w.Field("E");
                w.Field(null);
                w.Field(null);
                w.Field(error?.ToString());
                w.Field(userText);
            }
        }
        return w.ToArray();
    }

    /// <summary>The accept-level code: enhanced mode CA/CE/CR, original mode AA/AE/AR.</summary>
    public static AckCode ChooseAccept(Hl7Message? message, bool ok, bool reject = false)
    {
        if (message is not null && message.IsEnhancedAckMode)
            return ok ? AckCode.CA : reject ? AckCode.CR : AckCode.CE;
        return ChooseApplication(ok, reject);
    }

    /// <summary>The application-level code: AA, AE, or AR when <paramref name="reject"/>.</summary>
    public static AckCode ChooseApplication(bool ok, bool reject = false) =>
        ok ? AckCode.AA : reject ? AckCode.AR : AckCode.AE;

    /// <summary>
    /// Whether the sender wants the accept (commit) ACK: always in original mode; in enhanced mode per MSH-15
    /// (<c>AL</c> or empty always, <c>NE</c> never, <c>ER</c> only on failure, <c>SU</c> only on success).
    /// </summary>
    public static bool ShouldSendAcceptAck(Hl7Message message, bool success)
    {
        ArgumentNullException.ThrowIfNull(message);
        return !message.IsEnhancedAckMode || Wants(message.AcceptAckType, success);
    }

    /// <summary>Whether the sender wants an application ACK: always in original mode; in enhanced mode per MSH-16 (as MSH-15).</summary>
    public static bool ShouldSendApplicationAck(Hl7Message message, bool success)
    {
        ArgumentNullException.ThrowIfNull(message);
        return !message.IsEnhancedAckMode || Wants(message.ApplicationAckType, success);
    }

    /// <summary>Reads MSA-1, MSA-2 and a text: MSA-3, else ERR-8, ERR-3.2, ERR-1.4.2.</summary>
    public static AckReply ReadAck(Hl7Message ack)
    {
        ArgumentNullException.ThrowIfNull(ack);
        string? raw = null, controlId = null, text = null;
        if (ack.TryGetSegment("MSA", out var msa))
        {
            raw = msa.GetValue(1);
            controlId = msa.GetValue(2);
            text = msa.GetValue(3);
        }
        if (text is null && ack.TryGetSegment("ERR", out var err))
        {
            text = err.GetValue(8)
                ?? err.GetField(3).GetComponent(2).ValueOrNull
                ?? err.GetField(1).GetComponent(4).GetSubComponent(2).ValueOrNull;
        }
        AckCode? code = raw is not null && raw.Length == 2 && Enum.TryParse<AckCode>(raw, ignoreCase: false, out var c) && Enum.IsDefined(c) ? c : null;
        return new AckReply(code, raw, controlId, text);
    }

    private static bool Wants(string? type, bool success) => type switch
    {
        "NE" => false,
        "ER" => !success,
        "SU" => success,
        _ => true,
    };

    private static void WriteSwapped(Hl7MessageWriter w, Hl7Segment? msh, int field, string? fallback)
    {
        if (msh is { } segment && !segment.GetField(field).IsEmpty)
            w.RawField(segment.GetField(field).RawBytes);
        else
            w.Field(fallback);
    }

    private static void WriteCopied(Hl7MessageWriter w, Hl7Segment? msh, int field, string? fallback) =>
        WriteSwapped(w, msh, field, fallback);

    private static (string? Segment, string? Sequence, string? Field) Location(Hl7Message? original, Hl7Error? error)
    {
        if (error is not { } e || (e.SegmentIndex <= 0 && e.SegmentId is null))
            return (null, null, null);
        var id = e.SegmentId;
        var sequence = e.SegmentIndex;
        if (original is not null && e.SegmentIndex > 0 && e.SegmentIndex <= original.SegmentCount)
        {
            // ERL-2/ELD-2 count occurrences of the segment id, the error counts positions.
            var segment = original.GetSegment(e.SegmentIndex - 1);
            id ??= segment.Id;
            if (segment.Id == id)
            {
                sequence = 0;
                for (var i = 0; i < e.SegmentIndex; i++)
                {
                    if (original.GetSegment(i).Id == id)
                        sequence++;
                }
            }
        }
        return (id, sequence > 0 ? sequence.ToString(CultureInfo.InvariantCulture) : null, e.Field > 0 ? e.Field.ToString(CultureInfo.InvariantCulture) : null);
    }

    private static Hl7ErrorCode DefaultErrorCode(Hl7Error? error) => error switch
    {
        { Field: > 0 } => Hl7ErrorCode.DataTypeError,
        { SegmentIndex: > 0 } => Hl7ErrorCode.SegmentSequenceError,
        _ => Hl7ErrorCode.ApplicationInternalError,
    };

    /// <summary>The table 0357 text of a code.</summary>
    public static string Describe(Hl7ErrorCode code) => code switch
    {
        Hl7ErrorCode.MessageAccepted => "Message accepted",
        Hl7ErrorCode.SegmentSequenceError => "Segment sequence error",
        Hl7ErrorCode.RequiredFieldMissing => "Required field missing",
        Hl7ErrorCode.DataTypeError => "Data type error",
        Hl7ErrorCode.TableValueNotFound => "Table value not found",
        Hl7ErrorCode.UnsupportedMessageType => "Unsupported message type",
        Hl7ErrorCode.UnsupportedEventCode => "Unsupported event code",
        Hl7ErrorCode.UnsupportedProcessingId => "Unsupported processing id",
        Hl7ErrorCode.UnsupportedVersionId => "Unsupported version id",
        Hl7ErrorCode.UnknownKeyIdentifier => "Unknown key identifier",
        Hl7ErrorCode.DuplicateKeyIdentifier => "Duplicate key identifier",
        Hl7ErrorCode.ApplicationRecordLocked => "Application record locked",
        _ => "Application internal error",
    };

    /// <summary>True when a version such as <c>2.5.1</c> is at least major.minor; unreadable versions count as 2.5.</summary>
    internal static bool IsAtLeast(string? version, int major, int minor)
    {
        if (string.IsNullOrWhiteSpace(version))
            version = "2.5";
        var parts = version.Trim().Split('.');
        if (parts.Length < 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ma)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var mi))
            return 2 > major || (2 == major && 5 >= minor);
        return ma > major || (ma == major && mi >= minor);
    }

    /// <summary>An HL7 DTM with seconds and offset: <c>20240306111154+0100</c>.</summary>
    internal static string FormatTimestamp(DateTimeOffset now)
    {
        var offset = now.Offset;
        var sign = offset < TimeSpan.Zero ? "-" : "+";
        var abs = offset.Duration();
        return now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + sign
            + abs.Hours.ToString("00", CultureInfo.InvariantCulture) + abs.Minutes.ToString("00", CultureInfo.InvariantCulture);
    }

    private static string NewControlId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(10));
}
