using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace Dmp.Mapping.Hl7v2;

public readonly partial struct Hl7Field
{
    /// <summary>The i-th part one level down: components of a field or repetition, sub-components of a component.</summary>
    internal Hl7Field Part(int i) => _level == Level.Component || _level == Level.SubComponent ? GetSubComponent(i) : GetComponent(i);

    internal string? PartValue(int i) => Part(i).ValueOrNull;

    /// <summary>This element read as CX.</summary>
    public Hl7Cx AsCx() => Hl7Cx.From(this);
    /// <summary>This element read as XPN.</summary>
    public Hl7Xpn AsXpn() => Hl7Xpn.From(this);
    /// <summary>This element read as XAD.</summary>
    public Hl7Xad AsXad() => Hl7Xad.From(this);
    /// <summary>This element read as CE/CWE/CNE.</summary>
    public Hl7Coded AsCoded() => Hl7Coded.From(this);
    /// <summary>This element read as ED.</summary>
    public Hl7Ed AsEd() => Hl7Ed.From(this);
    /// <summary>This element read as NM.</summary>
    public Hl7Nm AsNm() => Hl7Nm.From(this);
    /// <summary>This element read as SN.</summary>
    public Hl7Sn AsSn() => Hl7Sn.From(this);
    /// <summary>This element read as HD.</summary>
    public Hl7Hd AsHd() => Hl7Hd.From(this);
}

/// <summary>HD, hierarchic designator: a namespace and/or a universal id (often an OID) with its type.</summary>
public sealed record Hl7Hd(string? NamespaceId, string? UniversalId, string? UniversalIdType)
{
    /// <summary>Reads an HD from a field/repetition (components) or from a component (sub-components).</summary>
    public static Hl7Hd From(Hl7Field element) => new(element.PartValue(1), element.PartValue(2), element.PartValue(3));

    public bool IsEmpty => NamespaceId is null && UniversalId is null && UniversalIdType is null;

    /// <summary><c>namespace^id^type</c> with trailing empty parts dropped.</summary>
    public override string ToString() =>
        UniversalIdType is not null ? $"{NamespaceId}^{UniversalId}^{UniversalIdType}"
        : UniversalId is not null ? $"{NamespaceId}^{UniversalId}"
        : NamespaceId ?? string.Empty;
}

/// <summary>CX, extended composite identifier (e.g. <c>123^^^ASIP-SANTE-INS-NIR&amp;1.2.250.1.213.1.4.8&amp;ISO^INS</c>).</summary>
public sealed record Hl7Cx(
    string? Id,
    string? CheckDigit,
    string? CheckDigitScheme,
    Hl7Hd AssigningAuthority,
    string? IdentifierTypeCode,
    Hl7Hd AssigningFacility,
    string? EffectiveDate,
    string? ExpirationDate)
{
    /// <summary>Reads a CX from one repetition.</summary>
    public static Hl7Cx From(Hl7Field repetition) => new(
        repetition.PartValue(1),
        repetition.PartValue(2),
        repetition.PartValue(3),
        Hl7Hd.From(repetition.Part(4)),
        repetition.PartValue(5),
        Hl7Hd.From(repetition.Part(6)),
        repetition.PartValue(7),
        repetition.PartValue(8));

    public string? AssigningAuthorityNamespace => AssigningAuthority.NamespaceId;
    public string? AssigningAuthorityUniversalId => AssigningAuthority.UniversalId;
    public string? AssigningAuthorityUniversalIdType => AssigningAuthority.UniversalIdType;
}

/// <summary>XPN, extended person name.</summary>
public sealed record Hl7Xpn(
    string? Family,
    string? Given,
    string? SecondGiven,
    string? Suffix,
    string? Prefix,
    string? Degree,
    string? NameTypeCode)
{
    /// <summary>Reads an XPN from one repetition; <see cref="Family"/> is the surname (XPN.1.1).</summary>
    public static Hl7Xpn From(Hl7Field repetition) => new(
        repetition.Part(1).GetSubComponent(1).ValueOrNull,
        repetition.PartValue(2),
        repetition.PartValue(3),
        repetition.PartValue(4),
        repetition.PartValue(5),
        repetition.PartValue(6),
        repetition.PartValue(7));
}

/// <summary>XAD, extended address.</summary>
public sealed record Hl7Xad(
    string? Street,
    string? OtherDesignation,
    string? City,
    string? State,
    string? PostalCode,
    string? Country,
    string? AddressType,
    string? OtherGeographicDesignation,
    string? CountyCode,
    string? CensusTract)
{
    /// <summary>Reads an XAD from one repetition; <see cref="Street"/> is XAD.1.1 (street or mailing address).</summary>
    public static Hl7Xad From(Hl7Field repetition) => new(
        repetition.Part(1).GetSubComponent(1).ValueOrNull,
        repetition.PartValue(2),
        repetition.PartValue(3),
        repetition.PartValue(4),
        repetition.PartValue(5),
        repetition.PartValue(6),
        repetition.PartValue(7),
        repetition.PartValue(8),
        repetition.PartValue(9),
        repetition.PartValue(10));
}

/// <summary>CE, CWE or CNE: a code, its text and coding system, an alternate coding, and (CWE) versions and original text.</summary>
public sealed record Hl7Coded(
    string? Identifier,
    string? Text,
    string? CodingSystem,
    string? AlternateIdentifier,
    string? AlternateText,
    string? AlternateCodingSystem,
    string? CodingSystemVersion,
    string? AlternateCodingSystemVersion,
    string? OriginalText)
{
    /// <summary>Reads a coded element from one repetition (or a component, reading its sub-components).</summary>
    public static Hl7Coded From(Hl7Field element) => new(
        element.PartValue(1),
        element.PartValue(2),
        element.PartValue(3),
        element.PartValue(4),
        element.PartValue(5),
        element.PartValue(6),
        element.PartValue(7),
        element.PartValue(8),
        element.PartValue(9));

    public bool IsEmpty => Identifier is null && Text is null && CodingSystem is null;
}

/// <summary>ED, encapsulated data: e.g. <c>^application^pdf^Base64^JVBERi0…</c> in OBX-5.</summary>
public readonly struct Hl7Ed
{
    private Hl7Ed(Hl7Field element)
    {
        SourceApplication = Hl7Hd.From(element.Part(1));
        TypeOfData = element.PartValue(2);
        DataSubtype = element.PartValue(3);
        Encoding = element.PartValue(4);
        DataElement = element.Part(5);
    }

    /// <summary>Reads an ED from one repetition.</summary>
    public static Hl7Ed From(Hl7Field repetition) => new(repetition);

    public Hl7Hd? SourceApplication { get; }
    public string? TypeOfData { get; }
    public string? DataSubtype { get; }
    /// <summary>ED.4: <c>Base64</c>, <c>Hex</c>, <c>A</c> (ASCII) …</summary>
    public string? Encoding { get; }
    /// <summary>ED.5, the data element itself (decode it on demand: it can be large).</summary>
    public Hl7Field DataElement { get; }
    /// <summary>ED.5 as unescaped text.</summary>
    public string Data => DataElement.Value;

    /// <summary>
    /// Decodes ED.5 as Base64, after undoing HL7 escapes, ignoring whitespace and line breaks and restoring missing
    /// <c>=</c> padding. Empty data decodes to an empty array.
    /// </summary>
    public bool TryDecodeBase64(out byte[] bytes)
    {
        bytes = [];
        var element = DataElement;
        if (element.IsEmpty)
            return true;
        var d = element.Message?.Delimiters;
        ReadOnlySpan<byte> source = element.RawBytes;
        byte[]? unescaped = null;
        if (d is not null && d.HasEscape && source.IndexOf(d.Escape) >= 0)
        {
            unescaped = System.Text.Encoding.Latin1.GetBytes(element.Value.Replace('\uFFFD', '?'));
            source = unescaped;
        }
        return Hl7Base64.TryDecode(source, out bytes);
    }
}

/// <summary>Lenient Base64 decoding for data senders wrapped, indented or left unpadded.</summary>
internal static class Hl7Base64
{
    public static bool TryDecode(ReadOnlySpan<byte> source, out byte[] bytes)
    {
        bytes = [];
        var rented = ArrayPool<byte>.Shared.Rent(source.Length + 3);
        try
        {
            var n = 0;
            foreach (var b in source)
            {
                if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0x0C)
                    continue;
                rented[n++] = b;
            }
            while (n > 0 && rented[n - 1] == '=')
                n--;
            switch (n % 4)
            {
                case 1:
                    return false;
                case 2:
                    rented[n++] = (byte)'=';
                    rented[n++] = (byte)'=';
                    break;
                case 3:
                    rented[n++] = (byte)'=';
                    break;
            }
            var output = new byte[Base64.GetMaxDecodedFromUtf8Length(n)];
            var status = Base64.DecodeFromUtf8(rented.AsSpan(0, n), output, out _, out var written);
            if (status != OperationStatus.Done)
                return false;
            bytes = written == output.Length ? output : output.AsSpan(0, written).ToArray();
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

/// <summary>NM, a decimal number as text: optional sign, digits, optional decimal point. The raw text is kept.</summary>
public readonly record struct Hl7Nm(string? Raw, decimal? Value)
{
    public bool IsValid => Value is not null;

    /// <summary>Reads component 1 of an element as NM.</summary>
    public static Hl7Nm From(Hl7Field element)
    {
        var raw = element.Part(1).ValueOrNull;
        return new Hl7Nm(raw, TryParse(raw, out var v) ? v : null);
    }

    /// <summary>Invariant-culture NM: <c>+12.5</c>, <c>-0.3</c>, <c>007</c>, <c>.5</c>; no exponent, no thousands separator.</summary>
    public static bool TryParse(string? text, out decimal value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var s = text.AsSpan().Trim();
        var body = s[0] is '+' or '-' ? s[1..] : s;
        var digits = 0;
        var dots = 0;
        foreach (var c in body)
        {
            if (char.IsAsciiDigit(c))
                digits++;
            else if (c == '.')
                dots++;
            else
                return false;
        }
        if (digits == 0 || dots > 1)
            return false;
        return decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);
    }

    public override string ToString() => Raw ?? string.Empty;
}

/// <summary>SN, structured numeric: <c>&gt;^100</c>, <c>^1^:^128</c>, <c>^10^-^20</c>.</summary>
public sealed record Hl7Sn(string? Comparator, decimal? Num1, string? SeparatorSuffix, decimal? Num2)
{
    /// <summary>Reads an SN from one repetition; unparseable numbers are null.</summary>
    public static Hl7Sn From(Hl7Field repetition) => new(
        repetition.PartValue(1),
        Hl7Nm.TryParse(repetition.PartValue(2), out var a) ? a : null,
        repetition.PartValue(3),
        Hl7Nm.TryParse(repetition.PartValue(4), out var b) ? b : null);
}
