using Dmp.Model.Apply;

namespace Dmp.Store.Dossier;

/// <summary>What applying a message did: the status it ends in, why, and (held) the identities it waits for.</summary>
/// <param name="Status">processed, held, refused-by-patient or failed (see <see cref="Inbox.InboxStatus"/>).</param>
/// <param name="HeldIdentityKeys">For held: each identifier of the unqualified patient (<see cref="HeldKey.Identity"/>).</param>
public sealed record DossierApplyOutcome(string Status, string? Error, string Detail, IReadOnlyList<HeldKey> HeldIdentityKeys);

/// <summary>An identity merge as recorded (ADT A40, or an IPP-only patient linked to its INS patient).</summary>
public sealed record PatientMergeRow(long MergedPatientId, long SurvivorPatientId, long? InboundMessageId, IReadOnlyList<string> MergedIdentifiers, DateTimeOffset MergedAt);
