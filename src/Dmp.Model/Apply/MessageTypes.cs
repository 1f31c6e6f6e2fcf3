namespace Dmp.Model.Apply;

/// <summary>HL7 v2 message types (MSH-9.1) the gateway keeps in the inbox but never applies to a dossier.</summary>
public static class MessageTypes
{
    /// <summary>Acknowledgements: kept, never acknowledged back, and with no dossier meaning.</summary>
    public static IReadOnlySet<string> Acknowledgements { get; } = new HashSet<string>(StringComparer.Ordinal) { "ACK", "ZAM", "MCF" };

    /// <summary>Acknowledgements, queries and their responses, master files: no business meaning for the dossier.</summary>
    public static IReadOnlySet<string> NoDossierMeaning { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "ACK", "ZAM", "MCF", "QBP", "QRY", "RSP", "MFN", "MFK", "NMD", "NMQ", "NMR",
    };

    /// <summary>The MSH-9.1 part of a stored message type (<c>ADT^A01</c> → <c>ADT</c>).</summary>
    public static string? Code(string? messageType) => messageType?.Split('^', 2)[0];
}
