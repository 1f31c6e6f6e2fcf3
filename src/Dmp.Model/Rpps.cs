using System.Diagnostics.CodeAnalysis;

namespace Dmp.Model;

/// <summary>
/// A health professional's RPPS number: 11 digits. The DMP writes it as an identifier of system
/// <see cref="Oid"/> whose value is the number behind the prefix <c>8</c> (the "8 + RPPS" national identifier).
/// </summary>
public readonly record struct Rpps
{
    /// <summary>The RPPS identifier system (ANS): professionals' national identifiers.</summary>
    public const string Oid = "1.2.250.1.71.4.2.1";

    /// <summary>The prefix of the national identifier form: <c>8</c> then the 11 digits.</summary>
    public const char ExtensionPrefix = '8';

    /// <summary>The length of an RPPS number.</summary>
    public const int Length = 11;

    private Rpps(string number) => Number = number;

    /// <summary>The 11 digits.</summary>
    public string Number { get; }

    /// <summary>The national identifier form: <c>8</c> + the 11 digits.</summary>
    public string Extension => ToExtension(Number);

    /// <summary>The identifier system as FHIR writes it.</summary>
    public static string SystemUri => Oids.ToUri(Oid);

    /// <summary>Reads an RPPS number given alone (11 digits) or in its national identifier form (<c>8</c> + 11 digits).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Rpps rpps)
    {
        rpps = default;
        if (text is null || !text.All(char.IsAsciiDigit))
            return false;
        if (text.Length == Length)
            rpps = new Rpps(text);
        else if (text.Length == Length + 1 && text[0] == ExtensionPrefix)
            rpps = new Rpps(text[1..]);
        else
            return false;
        return true;
    }

    /// <summary>
    /// The number as the dossier keeps it: the 11 digits when <paramref name="text"/> is an RPPS in either form,
    /// else the text unchanged (another identifier, kept as the sender wrote it).
    /// </summary>
    public static string Normalize(string text) => TryParse(text, out var rpps) ? rpps.Number : text;

    /// <summary>
    /// The national identifier form of a number the dossier kept: <c>8</c> + it. Written as stored, without checking
    /// the digits, so an identifier kept as the sender wrote it reads back the same way.
    /// </summary>
    public static string ToExtension(string number) => ExtensionPrefix + number;

    public override string ToString() => Number ?? "";
}
