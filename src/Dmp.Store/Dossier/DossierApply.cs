using System.Data.Common;
using System.Globalization;
using Dmp.Model.Apply;
using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// Applies one inbound message's plan to the dossier store inside the caller's write transaction: the patient
/// (<see cref="PatientIdentities"/>), the facility's choices (<see cref="FacilityChoices"/>), the release of messages
/// held for the identity (<see cref="HeldMessages"/>), then — as the plan's <see cref="Admission"/> decides with the
/// stored facts — documents with their versions (<see cref="DocumentVersions"/>) and entries (<see cref="DossierEntries"/>).
/// Every write is idempotent: applying the same message again adds nothing but the history line its caller writes.
/// </summary>
/// <remarks>
/// Dedup is the schema's unique keys: the dialect's insert-ignoring-duplicate returning the id
/// (<see cref="DossierStatements"/>), then a select when no row came back. Times in the dossier tables are fixed-width UTC text in every dialect (<see cref="StoreTime"/>).
/// </remarks>
internal sealed class DossierApply
{
    private readonly ApplyContext _context;
    private readonly PatientIdentities _identities;
    private readonly FacilityChoices _choices;
    private readonly DocumentVersions _documents;
    private readonly DossierEntries _entries;
    private readonly HeldMessages _held;
    private readonly bool _heldIdentitiesMayExist;

    private DossierApply(ApplyContext context, bool heldIdentitiesMayExist)
    {
        _context = context;
        _heldIdentitiesMayExist = heldIdentitiesMayExist;
        _identities = new PatientIdentities(context);
        _choices = new FacilityChoices(context);
        _documents = new DocumentVersions(context);
        _entries = new DossierEntries(context);
        _held = new HeldMessages(context.Connection, context.Transaction, context.Dialect, context.CancellationToken);
    }

    /// <summary>
    /// Applies every mapped message of <paramref name="plan"/>; the most serious outcome names the message's status.
    /// <paramref name="heldIdentitiesMayExist"/> false (the caller knows no message is held for an identity) skips
    /// looking for messages to release.
    /// </summary>
    public static async Task<DossierApplyOutcome> ApplyAsync(
        DbConnection connection, DbTransaction transaction, SqlDialect dialect, long messageId, string sender,
        ApplyPlan plan, DateTimeOffset now, bool heldIdentitiesMayExist, CancellationToken cancellationToken)
    {
        var apply = new DossierApply(new ApplyContext(connection, transaction, dialect, messageId, sender, now, cancellationToken), heldIdentitiesMayExist);
        var status = InboxStatus.Processed;
        string? error = null;
        var held = new List<HeldKey>();
        foreach (var message in plan.Messages)
        {
            var (messageStatus, messageError) = await apply.ApplyMessageAsync(message, held).ConfigureAwait(false);
            if (Rank(messageStatus) > Rank(status))
            {
                status = messageStatus;
                error = messageError;
            }
        }

        var notes = apply._context.Notes;
        var detail = notes.Count == 0 ? "applied to the dossier" : string.Join("; ", notes.Distinct(StringComparer.Ordinal));
        return new DossierApplyOutcome(status, error, detail, held.Distinct().ToList());
    }

    /// <summary>failed &gt; held &gt; refused-by-patient &gt; processed: a held part is applied again, whole, once released.</summary>
    private static int Rank(string status) => status switch
    {
        InboxStatus.Failed => 3,
        InboxStatus.Held => 2,
        InboxStatus.RefusedByPatient => 1,
        _ => 0,
    };

    private async Task<(string Status, string? Error)> ApplyMessageAsync(MessagePlan m, List<HeldKey> heldKeys)
    {
        var message = m.Message;
        var admission = m.Admission;
        var subject = message.Patients.Count > 0 ? message.Patients[0] : null;
        var qualified = subject?.IsQualified == true;

        PatientRecord? patient = null;
        if (subject is not null)
        {
            patient = await _identities.ResolvePatientAsync(subject, qualified, create: admission.IsAdt || qualified, updateDemographics: admission.IsAdt, m.EventAt)
                .ConfigureAwait(false);
        }

        if (patient is not null && admission.IsAdt)
        {
            foreach (var merge in message.Merges)
                patient = await _identities.MergeAsync(patient, merge).ConfigureAwait(false);
        }

        if (patient is not null && admission.ChoicesOrganisation is { } organisation)
        {
            foreach (var choices in message.Choices)
                await _choices.ApplyChoicesAsync(patient.Id, organisation, choices, m.EventAt).ConfigureAwait(false);
        }

        if (patient is { Ins: not null } && subject is not null && _heldIdentitiesMayExist)
        {
            var released = await _held.ReleaseIdentityAsync(patient.Id, _context.MessageId, _context.Now).ConfigureAwait(false);
            if (released > 0)
                _context.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"released {released} held message(s) of this identity"));
        }

        // The stored facts the message's admission depends on: the patient and its INS, an opposition recorded for it.
        var identity = patient is null ? StoredIdentity.Unknown : patient.Ins is null ? StoredIdentity.Unqualified : StoredIdentity.Qualified;
        var opposedBy = admission.DependsOnOpposition(identity)
            ? await _choices.OpposedByAsync(patient!.Id, admission.FeedingOrganisations).ConfigureAwait(false)
            : null;
        switch (admission.Decide(identity, opposedBy))
        {
            case AdmissionVerdict.StaysNotQualified:
                _context.Notes.Add("stays not stored: the patient's identity is not qualified");
                return (InboxStatus.Processed, null);
            case AdmissionVerdict.StaysOpposed:
                _context.Notes.Add($"stays not stored: the patient opposes feeding the DMP from {opposedBy}");
                return (InboxStatus.Processed, null);
            case AdmissionVerdict.NotForDmp:
                _context.Notes.Add($"document {admission.NotForDmp} is not for the DMP (DESTDMP = N): nothing entered the dossier");
                return (InboxStatus.RefusedByPatient, null);
            case AdmissionVerdict.NoPatient:
                const string noPatient = "the message names no patient: its documents and entries cannot enter a dossier";
                _context.Notes.Add(noPatient);
                return (InboxStatus.Failed, noPatient);
            case AdmissionVerdict.Opposed:
                _context.Notes.Add($"the patient opposes feeding the DMP from {opposedBy} (ZFA-9 = IO): nothing entered the dossier");
                return (InboxStatus.RefusedByPatient, null);
            case AdmissionVerdict.HeldForIdentity:
                heldKeys.AddRange(admission.IdentityKeys);
                _context.Notes.Add("the patient's identity is not qualified yet (no INS with PID-32 VALI/QUAL): held until an ADT qualifies it");
                return (InboxStatus.Held, null);
        }

        // Admitted; nothing to store when the message brings neither documents nor entries (then no patient is needed).
        if (m.Documents.Count == 0 && m.Entries.Count == 0)
            return (InboxStatus.Processed, null);
        var documentIds = new long?[m.Documents.Count];
        for (var i = 0; i < m.Documents.Count; i++)
            documentIds[i] = await _documents.ApplyDocumentAsync(patient!, m.Documents[i], m.EventAt).ConfigureAwait(false);
        await _entries.ApplyEntriesAsync(patient!, m, documentIds).ConfigureAwait(false);
        return (InboxStatus.Processed, null);
    }
}
