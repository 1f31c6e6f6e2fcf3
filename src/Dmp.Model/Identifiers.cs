namespace Dmp.Model;

/// <summary>An identifier qualified by the system (OID or URI) that issued it.</summary>
public sealed record Identifier(string System, string Value, string? Type = null, string? AssigningAuthority = null);

/// <summary>Well-known French object identifiers the gateway recognises.</summary>
public static class Oids
{
    public const string InsNir = "1.2.250.1.213.1.4.8";
    public const string InsNia = "1.2.250.1.213.1.4.9";
    public const string InsNirTest = "1.2.250.1.213.1.4.10";
    public const string InsNirDemo = "1.2.250.1.213.1.4.11";
    /// <summary>RPPS, the professionals' national identifiers (see <see cref="global::Dmp.Model.Rpps"/>).</summary>
    public const string Rpps = global::Dmp.Model.Rpps.Oid;
    /// <summary>Structures (organisations): extension <c>1</c> + FINESS, or another national structure id.</summary>
    public const string Structure = "1.2.250.1.71.4.2.2";

    /// <summary>True when the OID names one of the INS identifier systems.</summary>
    public static bool IsIns(string? oid) => oid is InsNir or InsNia or InsNirTest or InsNirDemo;

    /// <summary>The system URI FHIR uses for an OID.</summary>
    public static string ToUri(string oid) => "urn:oid:" + oid;
}

/// <summary>A date or date-time with the precision the sender gave, and the offset when it gave one.</summary>
public sealed record PartialDateTime(DateTime Value, DateTimePrecision Precision, TimeSpan? Offset);

/// <summary>How much of a date-time the sender gave.</summary>
public enum DateTimePrecision { Year, Month, Day, Hour, Minute, Second, Fraction }

/// <summary>A code in a code system, with its display text.</summary>
public sealed record Code(string Value, string? System, string? Display = null);
