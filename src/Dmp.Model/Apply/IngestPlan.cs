namespace Dmp.Model.Apply;

/// <summary>
/// What processing makes of one mapped inbound message before the store sees it: either its drafts are held (no
/// <see cref="Apply"/>), or a plan to apply to the dossier, with the held drafts its validated documents release.
/// </summary>
/// <param name="Apply">The plan; null when the message is held because a document is not validated by its author.</param>
/// <param name="HeldDocumentKeys">For held drafts: the uniqueId and setId keys of each draft.</param>
/// <param name="ValidatedDocumentKeys">The keys a validated document releases: its own set and the documents it replaces.</param>
/// <param name="Detail">The history line.</param>
/// <param name="Warnings">Warnings the message keeps (e.g. no mapping rule).</param>
public sealed record IngestPlan(
    ApplyPlan? Apply,
    IReadOnlyList<HeldKey> HeldDocumentKeys,
    IReadOnlyList<HeldKey> ValidatedDocumentKeys,
    string Detail,
    IReadOnlyList<string> Warnings)
{
    /// <summary>The message waits outside the dossier for the validated version of its drafts.</summary>
    public bool HoldsDrafts => Apply is null;
}
