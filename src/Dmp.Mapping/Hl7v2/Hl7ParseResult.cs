using System.Diagnostics.CodeAnalysis;

namespace Dmp.Mapping.Hl7v2;

/// <summary>The outcome of <see cref="Hl7Message.Parse"/>: a message, or the error that prevented reading one.</summary>
public readonly struct Hl7ParseResult
{
    internal Hl7ParseResult(Hl7Message? message, Hl7Error? error)
    {
        Message = message;
        Error = error;
    }

    public Hl7Message? Message { get; }
    public Hl7Error? Error { get; }

    [MemberNotNullWhen(true, nameof(Message))]
    public bool Success => Message is not null;

    public override string ToString() => Success ? "parsed" : Error?.ToString() ?? "not parsed";
}
