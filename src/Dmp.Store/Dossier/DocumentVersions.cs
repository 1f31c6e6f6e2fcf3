using System.Globalization;
using Dapper;
using Dmp.Model;
using Dmp.Model.Apply;
using Dmp.Store.Audit;

namespace Dmp.Store.Dossier;

/// <summary>
/// Documents in one message's apply: a new document with its source and its deposit audited, a known one gets one
/// more source, versions of a set and replacements supersede their parents (in whichever order they arrive), a
/// deletion, and a change of confidentiality (MODIF_CONF_CODE).
/// </summary>
internal sealed class DocumentVersions(ApplyContext c)
{
    /// <summary>Stores the document for the patient (or records one more source of it); returns its id, null when not stored.</summary>
    public async Task<long?> ApplyDocumentAsync(PatientRecord patient, DocumentPlan input, DateTimeOffset eventAt)
    {
        var d = input.Document;
        var uniqueId = input.UniqueId ?? (input.Body is { } b ? "sha256:" + b.Sha256 : d.Sha256 is { } h ? "sha256:" + h : null);
        if (uniqueId is null)
        {
            c.Notes.Add("a document without an id or content was not stored");
            return null;
        }

        if (d.Action == DocumentAction.Delete)
            return await DeleteDocumentAsync(patient, d, uniqueId).ConfigureAwait(false);

        var setId = input.SetId;
        var body = input.Body;
        var id = await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(
            c.Sql.InsertDocument,
            new
            {
                PatientId = patient.Id, UniqueId = uniqueId, SetId = setId, d.Version,
                TypeCode = d.TypeCode?.Value, TypeSystem = d.TypeCode?.System, TypeDisplay = d.TypeCode?.Display,
                ClassCode = d.ClassCode?.Value, ClassSystem = d.ClassCode?.System, ClassDisplay = d.ClassCode?.Display,
                d.Title, CreatedAt = Time(d.CreatedAt), ServiceStart = Time(d.ServiceStart), ServiceStop = Time(d.ServiceStop),
                AuthorRpps = AuthorRpps(d.Author?.Id), AuthorFamily = d.Author?.Family, AuthorGiven = d.Author?.Given, AuthorRole = d.Author?.Role,
                AuthorOrg = d.AuthorOrganisation?.Value, Facility = d.SourceFacility ?? d.CustodianName, EventCode = d.ServiceEvent?.Value,
                Confidentiality = d.Confidentiality?.Value, d.Language, MimeType = body?.MimeType ?? d.MimeType, d.FormatCode,
                Size = body?.Size ?? d.Size, Sha256 = body?.Sha256 ?? d.Sha256, Sha1 = body?.Sha1, BlobKey = body?.BlobKey,
                Masked = d.Visibility.MaskedToProfessionals == true, Hidden = d.Visibility.HiddenFromPatient == true,
                MessageId = c.MessageId, Now = c.NowText,
            })).ConfigureAwait(false);

        if (id is null)
        {
            // Known already (another channel, a resend, a replay): one document, one more source.
            var existing = await c.Connection.QuerySingleOrDefaultAsync<(long Id, long PatientId)?>(c.Command(
                "SELECT id, patient_id FROM document WHERE unique_id = @UniqueId;", new { UniqueId = uniqueId })).ConfigureAwait(false);
            if (existing is null && setId is not null && d.Version is not null)
            {
                existing = await c.Connection.QuerySingleOrDefaultAsync<(long Id, long PatientId)?>(c.Command(
                    "SELECT id, patient_id FROM document WHERE set_id = @SetId AND version = @Version;", new { SetId = setId, d.Version })).ConfigureAwait(false);
                if (existing is not null)
                    c.Notes.Add($"document {uniqueId} has the setId and version of a stored document: kept as that document");
            }

            if (existing is not { } found)
                throw new InvalidOperationException("The document insert conflicted but no stored document matches it.");
            if (found.PatientId != patient.Id)
                c.Notes.Add($"document {uniqueId} is stored for another patient: only its source was recorded");
            else if (d.Visibility.ChangesConfidentiality == true)
                await ChangeConfidentialityAsync(patient.Id, found.Id, d).ConfigureAwait(false);
            await AddDocumentSourceAsync(found.Id, eventAt).ConfigureAwait(false);
            return found.Id;
        }

        await AddDocumentSourceAsync(id.Value, eventAt).ConfigureAwait(false);
        await LinkVersionsAsync(patient.Id, id.Value, d, setId).ConfigureAwait(false);
        await AuditChain.AppendAsync(c.Dialect, c.Connection, c.Transaction,
            [new AuditRecord(patient.Id, AuditAgentKinds.System, c.Sender, null, AuditActions.Deposit, AuditEntityTypes.DocumentReference,
                id.Value.ToString(CultureInfo.InvariantCulture), AuditOutcomes.Success)],
            c.Now, c.CancellationToken).ConfigureAwait(false);
        return id.Value;
    }

    /// <summary>
    /// A new version: the parents it names (Replaces) and the current lower versions of its set become superseded and
    /// point at it; a version older than one already stored (it arrived late: a higher version of its set, or a
    /// replacement naming it) is stored superseded by that newer one.
    /// </summary>
    private async Task LinkVersionsAsync(long patientId, long id, Document d, string? setId)
    {
        if (d.Replaces.Count > 0 && DocumentKey.DossierForm(d.Replaces[0]) is { } named)
            await c.Execute("UPDATE document SET replaces_unique_id = @Named WHERE id = @Id;", new { Id = id, Named = named }).ConfigureAwait(false);
        var parents = new List<long>();
        foreach (var parent in d.Replaces)
        {
            if (DocumentKey.DossierForm(parent) is { } key && await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(
                    "SELECT id FROM document WHERE unique_id = @Key AND patient_id = @PatientId;", new { Key = key, PatientId = patientId })).ConfigureAwait(false) is { } parentId)
            {
                parents.Add(parentId);
            }
        }

        long? newer = null;
        if (setId is not null && d.Version is { } version)
        {
            newer = await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(
                c.Sql.NewerVersionInSet,
                new { SetId = setId, Version = version, PatientId = patientId, Id = id })).ConfigureAwait(false);
            parents.AddRange(await c.Connection.QueryAsync<long>(c.Command(
                $"SELECT id FROM document WHERE set_id = @SetId AND version < @Version AND patient_id = @PatientId AND status = '{DocumentStatuses.Current}' AND id <> @Id;",
                new { SetId = setId, Version = version, PatientId = patientId, Id = id })).ConfigureAwait(false));
        }

        var uniqueId = DocumentKey.DossierForm(d.UniqueId);
        newer ??= uniqueId is null ? null : await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(
            c.Sql.NewerReplacement,
            new { UniqueId = uniqueId, PatientId = patientId, Id = id })).ConfigureAwait(false);
        parents = parents.Where(p => p != id).Distinct().ToList();
        if (newer is { } next)
        {
            await c.Execute(
                $"UPDATE document SET status = '{DocumentStatuses.Superseded}', replaced_by_id = @Next, replaces_id = @Parent, updated_at = @Now WHERE id = @Id;",
                new { Id = id, Next = next, Parent = parents.Count > 0 ? parents[0] : (long?)null, Now = c.NowText }).ConfigureAwait(false);
            if (uniqueId is not null)
            {
                await c.Execute(
                    "UPDATE document SET replaces_id = @Id, updated_at = @Now WHERE id = @Next AND replaces_id IS NULL AND replaces_unique_id = @UniqueId;",
                    new { Id = id, Next = next, UniqueId = uniqueId, Now = c.NowText }).ConfigureAwait(false);
            }

            c.Notes.Add("an older version arrived after a newer one: stored superseded");
            return;
        }

        foreach (var parent in parents)
        {
            await c.Execute(
                $"UPDATE document SET status = '{DocumentStatuses.Superseded}', replaced_by_id = @Id, updated_at = @Now WHERE id = @Parent AND status = '{DocumentStatuses.Current}';",
                new { Id = id, Parent = parent, Now = c.NowText }).ConfigureAwait(false);
        }

        if (parents.Count > 0)
            await c.Execute("UPDATE document SET replaces_id = @Parent WHERE id = @Id;", new { Id = id, Parent = parents[0] }).ConfigureAwait(false);
        else if (d.Action == DocumentAction.Replace)
            c.Notes.Add("a replacement whose parent is not in the dossier: stored as current");
    }

    /// <summary>
    /// MODIF_CONF_CODE = Y on a document already stored: the message changes its confidentiality code and visibility
    /// flags (masked to professionals, hidden from the patient); only what it says, and only when it differs.
    /// </summary>
    private async Task ChangeConfidentialityAsync(long patientId, long documentId, Document d)
    {
        var changed = await c.Connection.ExecuteAsync(c.Command(
            """
            UPDATE document
            SET confidentiality = COALESCE(@Confidentiality, confidentiality),
                masked = CASE WHEN @Masked IS NULL THEN masked ELSE @MaskedValue END,
                hidden_from_patient = CASE WHEN @Hidden IS NULL THEN hidden_from_patient ELSE @HiddenValue END,
                updated_at = @Now
            WHERE id = @Id
              AND ((@Confidentiality IS NOT NULL AND (confidentiality IS NULL OR confidentiality <> @Confidentiality))
                   OR (@Masked IS NOT NULL AND masked <> @MaskedValue)
                   OR (@Hidden IS NOT NULL AND hidden_from_patient <> @HiddenValue));
            """,
            new
            {
                Id = documentId,
                Confidentiality = d.Confidentiality?.Value,
                Masked = d.Visibility.MaskedToProfessionals is null ? null : "y",
                MaskedValue = d.Visibility.MaskedToProfessionals == true,
                Hidden = d.Visibility.HiddenFromPatient is null ? null : "y",
                HiddenValue = d.Visibility.HiddenFromPatient == true,
                Now = c.NowText,
            })).ConfigureAwait(false);
        if (changed == 0)
            return;
        c.Notes.Add("the document's confidentiality changed (MODIF_CONF_CODE)");
        var action = d.Visibility.MaskedToProfessionals switch { true => AuditActions.Mask, false => AuditActions.Unmask, _ => AuditActions.Update };
        await AuditChain.AppendAsync(c.Dialect, c.Connection, c.Transaction,
            [new AuditRecord(patientId, AuditAgentKinds.System, c.Sender, null, action, AuditEntityTypes.DocumentReference,
                documentId.ToString(CultureInfo.InvariantCulture), AuditOutcomes.Success,
                Detail: "MODIF_CONF_CODE")],
            c.Now, c.CancellationToken).ConfigureAwait(false);
    }

    private async Task<long?> DeleteDocumentAsync(PatientRecord patient, Document d, string uniqueId)
    {
        var keys = new List<string> { uniqueId };
        keys.AddRange(d.Replaces.Select(DocumentKey.DossierForm).OfType<string>());
        foreach (var key in keys)
        {
            var target = await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(
                "SELECT id FROM document WHERE unique_id = @Key AND patient_id = @PatientId;", new { Key = key, PatientId = patient.Id })).ConfigureAwait(false);
            if (target is not { } id)
                continue;
            var changed = await c.Connection.ExecuteAsync(c.Command(
                $"UPDATE document SET status = '{DocumentStatuses.Deleted}', updated_at = @Now WHERE id = @Id AND status <> '{DocumentStatuses.Deleted}';", new { Id = id, Now = c.NowText })).ConfigureAwait(false);
            await AddDocumentSourceAsync(id, c.Now).ConfigureAwait(false);
            if (changed > 0)
            {
                await AuditChain.AppendAsync(c.Dialect, c.Connection, c.Transaction,
                    [new AuditRecord(patient.Id, AuditAgentKinds.System, c.Sender, null, AuditActions.Delete, AuditEntityTypes.DocumentReference,
                        id.ToString(CultureInfo.InvariantCulture), AuditOutcomes.Success)],
                    c.Now, c.CancellationToken).ConfigureAwait(false);
            }

            return id;
        }

        c.Notes.Add($"document {uniqueId} to delete is not in the dossier");
        return null;
    }

    private Task AddDocumentSourceAsync(long documentId, DateTimeOffset recordedAt) =>
        c.Execute(c.Sql.InsertDocumentSource, new { DocumentId = documentId, MessageId = c.MessageId, Sender = c.Sender, At = StoreTime.Write(recordedAt) });

    /// <summary>The author's RPPS as the dossier keeps it (without the `8` of the national identifier form); null when absent.</summary>
    private static string? AuthorRpps(Identifier? id) =>
        id?.Value?.Trim() is { Length: > 0 } value ? Rpps.Normalize(value) : null;

    private static string? Time(PartialDateTime? value) => PartialInstant.Of(value) is { } at ? StoreTime.Write(at) : null;
}
