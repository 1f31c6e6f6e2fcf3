using System.Globalization;
using System.Text.Json;
using Dapper;
using Dmp.Model;

namespace Dmp.Store.Dossier;

/// <summary>
/// Identity and merges in one message's apply: finds or creates the patient (INS first, then local identifiers),
/// gives an IPP-only patient its INS, links its identifiers, keeps the newest demographics, and merges identities
/// (ADT A40, or an IPP-only patient linked to its INS patient) without losing a document or an entry.
/// </summary>
internal sealed class PatientIdentities(ApplyContext c)
{
    /// <summary>
    /// The message's patient as stored, after merges: found by INS, else by a local identifier; created when
    /// <paramref name="create"/> (an ADT, or a qualified identity); null when unknown and not to be created.
    /// </summary>
    public async Task<PatientRecord?> ResolvePatientAsync(Patient subject, bool qualified, bool create, bool updateDemographics, DateTimeOffset eventAt)
    {
        var found = await FindSurvivorsAsync(subject.Ins, subject.LocalIdentifiers).ConfigureAwait(false);
        var offset = subject.Ins is null ? 0 : 1;
        var byIns = subject.Ins is null ? null : found[0];
        var owners = new List<(Identifier Id, PatientRecord? Owner)>(subject.LocalIdentifiers.Count);
        for (var i = 0; i < subject.LocalIdentifiers.Count; i++)
            owners.Add((subject.LocalIdentifiers[i], found[offset + i]));

        PatientRecord? patient = byIns;
        var created = false;
        var rowChanged = false; // the patient's own row written after it was read: read it again at the end
        if (patient is null && qualified)
        {
            // An IPP-only patient known by one of these identifiers gets the INS: the identity is now qualified.
            var ippOnly = owners.Select(o => o.Owner).FirstOrDefault(o => o is { Ins: null });
            if (ippOnly is not null)
            {
                await GiveInsAsync(ippOnly.Id, subject.Ins!, subject.IdentityStatus).ConfigureAwait(false);
                patient = await ReadPatientAsync(ippOnly.Id).ConfigureAwait(false);
            }
        }

        if (patient is null && !qualified)
            patient = owners.Select(o => o.Owner).FirstOrDefault(o => o is not null);

        if (patient is null)
        {
            if (!create || (subject.LocalIdentifiers.Count == 0 && !qualified))
                return null;
            patient = await CreatePatientAsync(subject, qualified, eventAt).ConfigureAwait(false);
            created = true;
        }

        // Every identifier the message gives joins the patient; one owned by an IPP-only patient links that patient here.
        foreach (var (id, owner) in owners)
        {
            if (owner is null)
            {
                await AddIdentifierAsync(patient.Id, id.System, id.Value, "local").ConfigureAwait(false);
            }
            else if (owner.Id != patient.Id)
            {
                if (qualified && owner.Ins is null)
                {
                    await MovePatientAsync(owner.Id, patient.Id, [IdentifierText(id.System, id.Value)]).ConfigureAwait(false);
                    rowChanged = true;
                }
                else
                    c.Notes.Add($"identifier {IdentifierText(id.System, id.Value)} belongs to another patient: not linked");
            }
        }

        if (!created && (updateDemographics || (qualified && patient.DemographicsAt is null)))
            rowChanged |= await UpdateDemographicsAsync(patient, subject, eventAt).ConfigureAwait(false);
        // Identifiers live in their own table: only a move or new demographics make the row read above stale.
        return rowChanged ? await ReadPatientAsync(patient.Id).ConfigureAwait(false) : patient;
    }

    /// <summary>
    /// The survivor (<see cref="MergeChain"/>) of the patient each key names, null where none: the INS first when given,
    /// then each local identifier. One statement reads every key's own patient; only a patient merged into another
    /// walks its chain (a statement more). A message naming more local identifiers than one statement takes looks each up alone.
    /// </summary>
    private async Task<PatientRecord?[]> FindSurvivorsAsync(Identifier? ins, IReadOnlyList<Identifier> locals)
    {
        var offset = ins is null ? 0 : 1;
        var found = new PatientRecord?[offset + locals.Count];
        if (found.Length == 0)
            return found;
        if (locals.Count > DossierStatements.MaxLocalIdentifiersInOneLookUp)
        {
            if (ins is not null)
                found[0] = await FindByInsAsync(ins).ConfigureAwait(false);
            for (var i = 0; i < locals.Count; i++)
                found[offset + i] = await FindByIdentifierAsync(locals[i]).ConfigureAwait(false);
            return found;
        }

        var args = new DynamicParameters();
        for (var i = 0; i < found.Length; i++)
        {
            var key = ins is not null && i == 0 ? ins : locals[i - offset];
            var (system, value) = DossierStatements.KeyParameters(i);
            args.Add(system, key.System);
            args.Add(value, key.Value);
        }

        await c.Connection.QueryAsync<long, PatientRecord, bool>(
            c.Command(c.Sql.PatientsByKeys(ins is not null, locals.Count), args),
            (k, patient) =>
            {
                found[checked((int)k)] = patient;
                return true;
            },
            splitOn: nameof(PatientRecord.Id)).ConfigureAwait(false);
        for (var i = 0; i < found.Length; i++)
        {
            if (found[i] is { MergedInto: not null } merged)
            {
                found[i] = await c.Connection.QuerySingleOrDefaultAsync<PatientRecord?>(c.Command(
                    c.Sql.SurvivorOfId, new { merged.Id })).ConfigureAwait(false);
            }
        }

        return found;
    }

    /// <summary>The patient with this INS, or the one it was merged into (<see cref="MergeChain"/>).</summary>
    private Task<PatientRecord?> FindByInsAsync(Identifier ins) =>
        c.Connection.QuerySingleOrDefaultAsync<PatientRecord?>(c.Command(
            c.Sql.SurvivorOfIns, new { ins.System, ins.Value }));

    /// <summary>The patient a local identifier belongs to, or the one it was merged into.</summary>
    private Task<PatientRecord?> FindByIdentifierAsync(Identifier identifier) =>
        c.Connection.QuerySingleOrDefaultAsync<PatientRecord?>(c.Command(
            c.Sql.SurvivorOfIdentifier,
            new { identifier.System, identifier.Value }));

    private Task<PatientRecord?> ReadPatientAsync(long id) =>
        c.Connection.QuerySingleOrDefaultAsync<PatientRecord?>(c.Command(
            $"SELECT {DossierQueries.PatientColumns} FROM patient WHERE id = @Id;", new { Id = id }));

    private async Task<PatientRecord> CreatePatientAsync(Patient subject, bool qualified, DateTimeOffset eventAt)
    {
        var d = Demographics.Of(subject);
        var ins = qualified ? subject.Ins : null;
        var id = await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(
            c.Sql.InsertPatient,
            new
            {
                Ins = ins?.Value, InsSystem = ins?.System, subject.IdentityStatus, d.Family, d.Given, d.BirthName, d.BirthDate, d.Sex,
                d.BirthPlace, At = StoreTime.Write(eventAt), Now = c.NowText,
            })).ConfigureAwait(false);
        if (id is null)
        {
            // Another writer created the INS patient first: use it.
            return await FindByInsAsync(ins!).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The patient insert conflicted but no patient has its INS.");
        }

        if (ins is not null)
            await AddIdentifierAsync(id.Value, ins.System, ins.Value, "ins").ConfigureAwait(false);
        // Opt-out since 2022: every patient has an open dossier unless they refuse.
        await c.Connection.ExecuteAsync(c.Command(
            c.Sql.InsertDossier, new { Id = id, Now = c.NowText })).ConfigureAwait(false);
        return (await ReadPatientAsync(id.Value).ConfigureAwait(false))!;
    }

    private async Task GiveInsAsync(long patientId, Identifier ins, string? identityStatus)
    {
        await c.Connection.ExecuteAsync(c.Command(
            "UPDATE patient SET ins = @Value, ins_system = @System, identity_status = @Status, updated_at = @Now WHERE id = @Id;",
            new { Id = patientId, ins.Value, ins.System, Status = identityStatus, Now = c.NowText })).ConfigureAwait(false);
        await AddIdentifierAsync(patientId, ins.System, ins.Value, "ins").ConfigureAwait(false);
        c.Notes.Add("identity qualified: the INS joined the patient known by its local identifier");
    }

    private Task AddIdentifierAsync(long patientId, string system, string value, string kind) =>
        c.Connection.ExecuteAsync(c.Command(
            c.Sql.InsertPatientIdentifier, new { System = system, Value = value, PatientId = patientId, Kind = kind, Now = c.NowText }));

    /// <summary>
    /// Demographics follow the newest event: a message whose event time (EVN-2, else MSH-7) is older than the stored
    /// one's changes nothing; an equal or newer one writes only when something differs (so a replay changes nothing).
    /// True when the row was written.
    /// </summary>
    private async Task<bool> UpdateDemographicsAsync(PatientRecord patient, Patient subject, DateTimeOffset eventAt)
    {
        if (patient.DemographicsAt is { } storedAt && StoreTime.Read(storedAt) > eventAt)
        {
            c.Notes.Add("older event than the stored demographics: demographics kept");
            return false;
        }

        var d = Demographics.Of(subject);
        var status = subject.IdentityStatus ?? patient.IdentityStatus;
        if (d.Family == patient.Family && d.Given == patient.Given && d.BirthName == patient.BirthName && d.BirthDate == patient.BirthDate
            && d.Sex == patient.Sex && d.BirthPlace == patient.BirthPlace && status == patient.IdentityStatus)
        {
            return false;
        }

        await c.Connection.ExecuteAsync(c.Command(
            """
            UPDATE patient SET family = @Family, given = @Given, birth_name = @BirthName, birth_date = @BirthDate, sex = @Sex,
                               birth_place = @BirthPlace, identity_status = @Status, demographics_at = @At, updated_at = @Now
            WHERE id = @Id;
            """,
            new { patient.Id, d.Family, d.Given, d.BirthName, d.BirthDate, d.Sex, d.BirthPlace, Status = status, At = StoreTime.Write(eventAt), Now = c.NowText }))
            .ConfigureAwait(false);
        return true;
    }

    /// <summary>ADT A40: each merged identity's patient moves to the survivor (the message's patient).</summary>
    public async Task<PatientRecord> MergeAsync(PatientRecord survivor, PatientMerge merge)
    {
        foreach (var identifier in merge.MergedIdentifiers)
        {
            var merged = Oids.IsIns(identifier.System)
                ? await FindByInsAsync(identifier).ConfigureAwait(false)
                : await FindByIdentifierAsync(identifier).ConfigureAwait(false);
            if (merged is null)
            {
                // Unknown so far: the identifier simply joins the survivor, so later messages under it find the survivor.
                if (!Oids.IsIns(identifier.System))
                    await AddIdentifierAsync(survivor.Id, identifier.System, identifier.Value, "local").ConfigureAwait(false);
                continue;
            }

            if (merged.Id == survivor.Id)
                continue;
            await MovePatientAsync(merged.Id, survivor.Id, merge.MergedIdentifiers.Select(i => IdentifierText(i.System, i.Value)).ToList()).ConfigureAwait(false);
        }

        return (await ReadPatientAsync(survivor.Id).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Moves everything of patient <paramref name="from"/> to <paramref name="to"/>: identifiers, documents, entries
    /// (an entry the survivor already has keeps one row with both provenances), facility choices and authorisations;
    /// the merged patient points at the survivor and a <c>patient_merge</c> row records the link.
    /// </summary>
    private async Task MovePatientAsync(long from, long to, IReadOnlyList<string> identifiers)
    {
        var source = (await ReadPatientAsync(from).ConfigureAwait(false))!;
        var target = (await ReadPatientAsync(to).ConfigureAwait(false))!;
        var args = new { From = from, To = to, Now = c.NowText };
        await c.Execute("UPDATE patient_identifier SET patient_id = @To WHERE patient_id = @From;", args).ConfigureAwait(false);
        await c.Execute("UPDATE document SET patient_id = @To, updated_at = @Now WHERE patient_id = @From;", args).ConfigureAwait(false);

        await new DossierEntries(c).MoveAsync(from, to).ConfigureAwait(false);
        // The survivor's own choices win over the merged identity's for the same organisation.
        await c.Execute(
            """
            UPDATE dossier_facility_choice SET patient_id = @To
            WHERE patient_id = @From AND organisation NOT IN (SELECT organisation FROM dossier_facility_choice WHERE patient_id = @To);
            """, args).ConfigureAwait(false);
        await c.Execute("DELETE FROM dossier_facility_choice WHERE patient_id = @From;", args).ConfigureAwait(false);
        await c.Execute(
            """
            UPDATE dossier_authorization SET patient_id = @To
            WHERE patient_id = @From AND rpps NOT IN (SELECT rpps FROM dossier_authorization WHERE patient_id = @To);
            """, args).ConfigureAwait(false);
        await c.Execute("DELETE FROM dossier_authorization WHERE patient_id = @From;", args).ConfigureAwait(false);

        if (source.Ins is not null && target.Ins is null)
        {
            await c.Execute("UPDATE patient SET ins = NULL, ins_system = NULL WHERE id = @From;", args).ConfigureAwait(false);
            await c.Execute(
                "UPDATE patient SET ins = @Ins, ins_system = @InsSystem, identity_status = @Status, updated_at = @Now WHERE id = @To;",
                new { To = to, source.Ins, source.InsSystem, Status = source.IdentityStatus, Now = c.NowText }).ConfigureAwait(false);
        }

        await c.Execute("UPDATE patient SET merged_into = @To, updated_at = @Now WHERE id = @From OR merged_into = @From;", args).ConfigureAwait(false);
        await c.Execute(
            c.Sql.InsertPatientMerge,
            new { From = from, To = to, MessageId = c.MessageId, Identifiers = JsonSerializer.Serialize(identifiers), Now = c.NowText }).ConfigureAwait(false);
        c.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"patient {from} merged into patient {to}"));
    }

    /// <summary>An identifier as merges record it: <c>system|value</c>.</summary>
    private static string IdentifierText(string system, string value) => system + "|" + value;

    /// <summary>The demographic columns as a patient record gives them.</summary>
    private sealed record Demographics(string? Family, string? Given, string? BirthName, string? BirthDate, string? Sex, string? BirthPlace)
    {
        public static Demographics Of(Patient p)
        {
            var legal = p.Names.FirstOrDefault(n => n.Use == "L");
            var used = p.Names.FirstOrDefault(n => n.Use == "D");
            var main = used ?? legal ?? p.Names.FirstOrDefault();
            var given = main is { Given.Count: > 0 } ? string.Join(' ', main.Given.Where(g => !string.IsNullOrWhiteSpace(g))) : null;
            return new Demographics(main?.Family, string.IsNullOrEmpty(given) ? null : given, legal?.Family, Date(p.BirthDate), p.Sex, p.BirthPlace);
        }

        private static string? Date(PartialDateTime? value) => value is null ? null : value.Value.ToString(value.Precision switch
        {
            DateTimePrecision.Year => "yyyy",
            DateTimePrecision.Month => "yyyy-MM",
            _ => "yyyy-MM-dd",
        }, CultureInfo.InvariantCulture);
    }
}
