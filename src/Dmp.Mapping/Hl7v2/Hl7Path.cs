using System.Globalization;
using System.Text;

namespace Dmp.Mapping.Hl7v2;

/// <summary>
/// A location in a message: <c>SEG[occurrence]-field[repetition].component.subcomponent</c>, all 1-based;
/// occurrence and repetition default to 1, component and sub-component to 0 (the whole element).
/// Examples: <c>PID-3</c>, <c>PID-3[2].4.2</c>, <c>OBX[3]-5</c>, <c>MSH-9.2</c>.
/// </summary>
public readonly record struct Hl7Path(string SegmentId, int Occurrence, int Field, int Repetition, int Component, int SubComponent)
{
    private const int MaxNumber = 100_000;

    /// <summary>Parses a path, throwing on a malformed one (a programmer error).</summary>
    /// <exception cref="ArgumentException">The path is malformed.</exception>
    public static Hl7Path Parse(string path)
    {
        if (!TryParse(path, out var result, out var error))
            throw new ArgumentException($"invalid HL7 path \"{path}\": {error}", nameof(path));
        return result;
    }

    /// <summary>Parses a path; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string? path, out Hl7Path result, out string? error)
    {
        result = default;
        error = null;
        if (string.IsNullOrWhiteSpace(path))
        {
            error = "empty path";
            return false;
        }
        var s = path.AsSpan().Trim();
        if (s.Length < 3 || !IsIdChar(s[0]) || !IsIdChar(s[1]) || !IsIdChar(s[2]))
        {
            error = "a path starts with a 3-character segment id (upper-case letters or digits)";
            return false;
        }
        Span<byte> idBytes = [(byte)s[0], (byte)s[1], (byte)s[2]];
        var segment = Hl7Scan.Id(idBytes);
        var i = 3;
        var occurrence = 1;
        if (i < s.Length && s[i] == '[')
        {
            if (!TryReadBracket(s, ref i, out occurrence, out error))
                return false;
        }
        if (i >= s.Length || s[i] != '-')
        {
            error = "expected '-' and a field number after the segment id";
            return false;
        }
        i++;
        if (!TryReadNumber(s, ref i, out var field))
        {
            error = "expected a field number (1 or more) after '-'";
            return false;
        }
        var repetition = 1;
        if (i < s.Length && s[i] == '[')
        {
            if (!TryReadBracket(s, ref i, out repetition, out error))
                return false;
        }
        var component = 0;
        var sub = 0;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            if (!TryReadNumber(s, ref i, out component))
            {
                error = "expected a component number (1 or more) after '.'";
                return false;
            }
            if (i < s.Length && s[i] == '.')
            {
                i++;
                if (!TryReadNumber(s, ref i, out sub))
                {
                    error = "expected a sub-component number (1 or more) after '.'";
                    return false;
                }
            }
        }
        if (i != s.Length)
        {
            error = $"unexpected '{s[i]}' at position {i + 1}";
            return false;
        }
        result = new Hl7Path(segment, occurrence, field, repetition, component, sub);
        return true;
    }

    private static bool IsIdChar(char c) => c is >= 'A' and <= 'Z' or >= '0' and <= '9';

    private static bool TryReadBracket(ReadOnlySpan<char> s, ref int i, out int value, out string? error)
    {
        error = null;
        i++;
        if (!TryReadNumber(s, ref i, out value) || i >= s.Length || s[i] != ']')
        {
            error = "expected a number (1 or more) and ']' after '['";
            return false;
        }
        i++;
        return true;
    }

    private static bool TryReadNumber(ReadOnlySpan<char> s, ref int i, out int value)
    {
        value = 0;
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            value = value * 10 + (s[i] - '0');
            i++;
            if (value > MaxNumber)
                return false;
        }
        return i > start && value >= 1;
    }

    /// <summary>The canonical text, omitting defaults: <c>PID-3[2].4</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(SegmentId);
        var c = CultureInfo.InvariantCulture;
        if (Occurrence > 1)
            sb.Append('[').Append(Occurrence.ToString(c)).Append(']');
        sb.Append('-').Append(Field.ToString(c));
        if (Repetition > 1)
            sb.Append('[').Append(Repetition.ToString(c)).Append(']');
        if (Component > 0)
            sb.Append('.').Append(Component.ToString(c));
        if (SubComponent > 0)
            sb.Append('.').Append(SubComponent.ToString(c));
        return sb.ToString();
    }
}
