namespace Dmp.Mapping.Hl7v2;

/// <summary>
/// The delimiters a message declares in MSH-1 and MSH-2. A delimiter the message does not declare is 0
/// (see the <c>Has…</c> properties); such a delimiter never splits anything.
/// </summary>
public sealed class Hl7Delimiters
{
    /// <summary>The usual `|^~\&amp;`.</summary>
    public static Hl7Delimiters Default { get; } = new((byte)'|', (byte)'^', (byte)'~', (byte)'\\', (byte)'&', null);

    /// <summary>Builds a set of delimiters; pass 0 for an absent repetition, escape or sub-component delimiter.</summary>
    public Hl7Delimiters(byte field, byte component, byte repetition, byte escape, byte subComponent, byte? truncation = null)
    {
        Field = field;
        Component = component;
        Repetition = repetition;
        Escape = escape;
        SubComponent = subComponent;
        Truncation = truncation;
        var chars = new List<char>(5) { (char)component };
        if (repetition != 0 || escape != 0 || subComponent != 0 || truncation is not null)
            chars.Add(repetition == 0 ? ' ' : (char)repetition);
        if (escape != 0 || subComponent != 0 || truncation is not null)
            chars.Add(escape == 0 ? ' ' : (char)escape);
        if (subComponent != 0 || truncation is not null)
            chars.Add(subComponent == 0 ? ' ' : (char)subComponent);
        if (truncation is { } t)
            chars.Add((char)t);
        EncodingCharacters = new string(chars.ToArray());
    }

    public byte Field { get; }
    public byte Component { get; }
    /// <summary>0 when the message declares none.</summary>
    public byte Repetition { get; }
    /// <summary>0 when the message declares none.</summary>
    public byte Escape { get; }
    /// <summary>0 when the message declares none.</summary>
    public byte SubComponent { get; }
    /// <summary>The v2.7+ truncation character (5th character of MSH-2), when declared.</summary>
    public byte? Truncation { get; }

    public bool HasRepetition => Repetition != 0;
    public bool HasEscape => Escape != 0;
    public bool HasSubComponent => SubComponent != 0;

    /// <summary>MSH-2 as text, e.g. `^~\&amp;`.</summary>
    public string EncodingCharacters { get; }

    internal bool IsDefault =>
        Field == '|' && Component == '^' && Repetition == '~' && Escape == '\\' && SubComponent == '&' && Truncation is null;

    /// <summary>
    /// Reads the delimiters from a segment that starts `MSH`, `FHS` or `BHS`. Returns false (with a reason) when
    /// MSH-1/MSH-2 are unusable: a letter, digit or line break as delimiter, a delimiter used twice, more than 5
    /// encoding characters.
    /// </summary>
    internal static bool TryRead(ReadOnlySpan<byte> header, out Hl7Delimiters delimiters, out string? error)
    {
        delimiters = Default;
        error = null;
        if (header.Length < 4)
        {
            error = "truncated header: no field separator (MSH-1)";
            return false;
        }
        var field = header[3];
        if (!IsUsable(field))
        {
            error = $"invalid field separator (MSH-1) 0x{field:X2}";
            return false;
        }
        var rest = header[4..];
        var end = rest.IndexOf(field);
        var enc = end < 0 ? rest : rest[..end];
        if (enc.Length == 0)
        {
            error = "no encoding characters (MSH-2)";
            return false;
        }
        if (enc.Length > 5)
        {
            error = "invalid encoding characters (MSH-2): more than 5 characters";
            return false;
        }
        Span<byte> all = stackalloc byte[6];
        all[0] = field;
        for (var i = 0; i < enc.Length; i++)
        {
            var b = enc[i];
            if (!IsUsable(b) || all[..(i + 1)].Contains(b))
            {
                error = "invalid encoding characters (MSH-2): each delimiter must be a distinct punctuation character";
                return false;
            }
            all[i + 1] = b;
        }
        var component = enc[0];
        byte repetition = enc.Length > 1 ? enc[1] : (byte)0;
        byte escape = enc.Length > 2 ? enc[2] : (byte)0;
        byte sub = enc.Length > 3 ? enc[3] : (byte)0;
        byte? truncation = enc.Length > 4 ? enc[4] : null;
        if (field == '|' && component == '^' && repetition == '~' && escape == '\\' && sub == '&' && truncation is null)
            delimiters = Default;
        else
            delimiters = new Hl7Delimiters(field, component, repetition, escape, sub, truncation);
        return true;
    }

    // Printable ASCII punctuation only: a delimiter must be one byte in every supported charset.
    private static bool IsUsable(byte b) =>
        b is > 0x20 and < 0x7F && !(b is >= (byte)'0' and <= (byte)'9') && !(b is >= (byte)'A' and <= (byte)'Z') && !(b is >= (byte)'a' and <= (byte)'z');
}
