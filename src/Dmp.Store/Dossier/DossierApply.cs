using Dmp.Store.Writing;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Dmp.Model;
using Dmp.Store.Audit;
using Dmp.Store.Inbox;
using Dmp.Store.Sql;

namespace Dmp.Store.Dossier;

/// <summary>
/// Applies one inbound message to the dossier store inside the caller's write transaction: finds or creates the
/// patient (INS first, then local identifiers), links an IPP-only patient to its INS patient, records the facility's
/// choices (ZFA), merges identities (A40), then — through the gates (DESTDMP, opposition to feeding, qualified
/// identity) — stores documents with their versions and entries with their provenance. Every write is idempotent:
/// applying the same message again adds nothing but the history line its caller writes.
/// </summary>
/// <remarks>
/// Dedup is the schema's unique keys: <c>INSERT … ON CONFLICT DO NOTHING … RETURNING id</c>, then a select when no
/// row came back. Times in the dossier tables are fixed-width UTC text in every dialect (<see cref="StoreTime"/>).
/// </remarks>
internal sealed class DossierApply
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly SqlDialect _connections;
    private readonly long _messageId;
    private readonly string _sender;
    private readonly DateTimeOffset _now;
    private readonly string _nowText;
    private readonly CancellationToken _cancellationToken;
    private readonly List<string> _notes = [];

    private DossierApply(
        DbConnection connection, DbTransaction transaction, SqlDialect connections, long messageId, string sender,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        _connection = connection;
        _transaction = transaction;
        _connections = connections;
        _messageId = messageId;
        _sender = sender;
        _now = now;
        _nowText = StoreTime.Write(now);
        _cancellationToken = cancellationToken;
    }

    /// <summary>Applies every mapped message of <paramref name="input"/>; the most serious outcome names the message's status.</summary>
    public static async Task<DossierApplyOutcome> ApplyAsync(
        DbConnection connection, DbTransaction transaction, SqlDialect connections, long messageId, string sender,
        DossierApplyInput input, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var apply = new DossierApply(connection, transaction, connections, messageId, sender, now, cancellationToken);
        var status = InboxStatus.Processed;
        string? error = null;
        var held = new List<string>();
        foreach (var message in input.Messages)
        {
            var (messageStatus, messageError) = await apply.ApplyMessageAsync(message, held).ConfigureAwait(false);
            if (Rank(messageStatus) > Rank(status))
            {
                status = messageStatus;
                error = messageError;
            }
        }

        var detail = apply._notes.Count == 0 ? "applied to the dossier" : string.Join("; ", apply._notes.Distinct(StringComparer.Ordinal));
        return new DossierApplyOutcome(status, error, detail, held.Distinct(StringComparer.Ordinal).ToList());
    }

    /// <summary>failed &gt; held &gt; refused-by-patient &gt; processed: a held part is applied again, whole, once released.</summary>
    private static int Rank(string status) => status switch
    {
        InboxStatus.Failed => 3,
        InboxStatus.Held => 2,
        InboxStatus.RefusedByPatient => 1,
        _ => 0,
    };

    private async Task<(string Status, string? Error)> ApplyMessageAsync(DossierApplyMessage m, List<string> heldKeys)
    {
        var message = m.Message;
        var isAdt = message.Info.MessageType == "ADT";
        var subject = message.Patients.Count > 0 ? message.Patients[0] : null;
        // An ADT's stays are part of the identity feed: they never hold or refuse the ADT itself.
        var clinical = m.Documents.Count > 0 || m.Entries.Any(e => !(isAdt && e.Key.Kind == "Encounter"));
        var qualified = subject?.IsQualified == true;

        PatientRecord? patient = null;
        if (subject is not null)
            patient = await ResolvePatientAsync(subject, qualified, create: isAdt || qualified, updateDemographics: isAdt, m.EventAt).ConfigureAwait(false);

        if (patient is not null && isAdt)
        {
            foreach (var merge in message.Merges)
                patient = await MergeAsync(patient, merge).ConfigureAwait(false);
        }

        var organisation = OrganisationKey(message.Info.SendingFacility);
        if (patient is not null && organisation is not null)
        {
            foreach (var choices in message.Choices)
                await ApplyChoicesAsync(patient.Id, organisation, choices, m.EventAt).ConfigureAwait(false);
        }

        if (patient is { Ins: not null } && subject is not null)
            await ReleaseHeldAsync(patient.Id).ConfigureAwait(false);

        if (!clinical)
        {
            if (m.Entries.Count > 0)
            {
                if (patient is not { Ins: not null })
                    _notes.Add("stays not stored: the patient's identity is not qualified");
                else if (await OpposedByAsync(patient.Id, OrganisationsOf(m, organisation)).ConfigureAwait(false) is { } opposed)
                    _notes.Add($"stays not stored: the patient opposes feeding the DMP from {opposed}");
                else
                    await ApplyEntriesAsync(patient, m, []).ConfigureAwait(false);
            }

            return (InboxStatus.Processed, null);
        }

        if (m.Documents.FirstOrDefault(d => d.Document.Routing.ToDmp == false) is { } notForDmp)
        {
            _notes.Add($"document {UniqueKey(notForDmp.Document) ?? "(no id)"} is not for the DMP (DESTDMP = N): nothing entered the dossier");
            return (InboxStatus.RefusedByPatient, null);
        }

        if (subject is null)
        {
            const string noPatient = "the message names no patient: its documents and entries cannot enter a dossier";
            _notes.Add(noPatient);
            return (InboxStatus.Failed, noPatient);
        }

        if (patient is not null && await OpposedByAsync(patient.Id, OrganisationsOf(m, organisation)).ConfigureAwait(false) is { } by)
        {
            _notes.Add($"the patient opposes feeding the DMP from {by} (ZFA-9 = IO): nothing entered the dossier");
            return (InboxStatus.RefusedByPatient, null);
        }

        if (patient is not { Ins: not null })
        {
            heldKeys.AddRange(IdentityKeys(subject));
            _notes.Add("the patient's identity is not qualified yet (no INS with PID-32 VALI/QUAL): held until an ADT qualifies it");
            return (InboxStatus.Held, null);
        }

        var documentIds = new long?[m.Documents.Count];
        for (var i = 0; i < m.Documents.Count; i++)
            documentIds[i] = await ApplyDocumentAsync(patient, m.Documents[i], m.EventAt).ConfigureAwait(false);
        await ApplyEntriesAsync(patient, m, documentIds).ConfigureAwait(false);
        return (InboxStatus.Processed, null);
    }

    // ---- patients ---------------------------------------------------------------------------------------------

    private async Task<PatientRecord?> ResolvePatientAsync(Patient subject, bool qualified, bool create, bool updateDemographics, DateTimeOffset eventAt)
    {
        var byIns = subject.Ins is { } ins ? await FindByInsAsync(ins).ConfigureAwait(false) : null;
        var owners = new List<(Identifier Id, PatientRecord? Owner)>();
        foreach (var local in subject.LocalIdentifiers)
            owners.Add((local, await FindByIdentifierAsync(local).ConfigureAwait(false)));

        PatientRecord? patient = byIns;
        var created = false;
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
                    await MovePatientAsync(owner.Id, patient.Id, [Key(id.System, id.Value)]).ConfigureAwait(false);
                else
                    _notes.Add($"identifier {Key(id.System, id.Value)} belongs to another patient: not linked");
            }
        }

        if (!created && (updateDemographics || (qualified && patient.DemographicsAt is null)))
            await UpdateDemographicsAsync(patient, subject, eventAt).ConfigureAwait(false);
        return await ReadPatientAsync(patient.Id).ConfigureAwait(false);
    }

    private async Task<PatientRecord?> FindByInsAsync(Identifier ins)
    {
        var id = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
            "SELECT id FROM patient WHERE ins_system = @System AND ins = @Value;", new { ins.System, ins.Value })).ConfigureAwait(false);
        return id is { } found ? await SurvivorAsync(found).ConfigureAwait(false) : null;
    }

    private async Task<PatientRecord?> FindByIdentifierAsync(Identifier identifier)
    {
        var id = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
            "SELECT patient_id FROM patient_identifier WHERE system = @System AND value = @Value;",
            new { identifier.System, identifier.Value })).ConfigureAwait(false);
        return id is { } found ? await SurvivorAsync(found).ConfigureAwait(false) : null;
    }

    /// <summary>The patient, or the one it was merged into (following the chain).</summary>
    private async Task<PatientRecord?> SurvivorAsync(long id)
    {
        var row = await ReadPatientAsync(id).ConfigureAwait(false);
        for (var hops = 0; row?.MergedInto is { } next && hops < DossierQueries.MaxMergeHops; hops++)
            row = await ReadPatientAsync(next).ConfigureAwait(false);
        return row;
    }

    private Task<PatientRecord?> ReadPatientAsync(long id) =>
        _connection.QuerySingleOrDefaultAsync<PatientRecord?>(Command(
            $"SELECT {DossierQueries.PatientColumns} FROM patient WHERE id = @Id;", new { Id = id }));

    private async Task<PatientRecord> CreatePatientAsync(Patient subject, bool qualified, DateTimeOffset eventAt)
    {
        var d = Demographics.Of(subject);
        var ins = qualified ? subject.Ins : null;
        var id = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
            """
            INSERT INTO patient (ins, ins_system, identity_status, family, given, birth_name, birth_date, sex, birth_place,
                                 demographics_at, created_at, updated_at)
            VALUES (@Ins, @InsSystem, @IdentityStatus, @Family, @Given, @BirthName, @BirthDate, @Sex, @BirthPlace, @At, @Now, @Now)
            ON CONFLICT DO NOTHING
            RETURNING id;
            """,
            new
            {
                Ins = ins?.Value, InsSystem = ins?.System, subject.IdentityStatus, d.Family, d.Given, d.BirthName, d.BirthDate, d.Sex,
                d.BirthPlace, At = StoreTime.Write(eventAt), Now = _nowText,
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
        await _connection.ExecuteAsync(Command(
            "INSERT INTO dossier (patient_id, updated_at) VALUES (@Id, @Now) ON CONFLICT DO NOTHING;", new { Id = id, Now = _nowText })).ConfigureAwait(false);
        return (await ReadPatientAsync(id.Value).ConfigureAwait(false))!;
    }

    private async Task GiveInsAsync(long patientId, Identifier ins, string? identityStatus)
    {
        await _connection.ExecuteAsync(Command(
            "UPDATE patient SET ins = @Value, ins_system = @System, identity_status = @Status, updated_at = @Now WHERE id = @Id;",
            new { Id = patientId, ins.Value, ins.System, Status = identityStatus, Now = _nowText })).ConfigureAwait(false);
        await AddIdentifierAsync(patientId, ins.System, ins.Value, "ins").ConfigureAwait(false);
        _notes.Add("identity qualified: the INS joined the patient known by its local identifier");
    }

    private Task AddIdentifierAsync(long patientId, string system, string value, string kind) =>
        _connection.ExecuteAsync(Command(
            """
            INSERT INTO patient_identifier (system, value, patient_id, kind, created_at)
            VALUES (@System, @Value, @PatientId, @Kind, @Now)
            ON CONFLICT (system, value) DO NOTHING;
            """, new { System = system, Value = value, PatientId = patientId, Kind = kind, Now = _nowText }));

    /// <summary>
    /// Demographics follow the newest event: a message whose event time (EVN-2, else MSH-7) is older than the stored
    /// one's changes nothing; an equal or newer one writes only when something differs (so a replay changes nothing).
    /// </summary>
    private async Task UpdateDemographicsAsync(PatientRecord patient, Patient subject, DateTimeOffset eventAt)
    {
        if (patient.DemographicsAt is { } storedAt && StoreTime.Read(storedAt) > eventAt)
        {
            _notes.Add("older event than the stored demographics: demographics kept");
            return;
        }

        var d = Demographics.Of(subject);
        var status = subject.IdentityStatus ?? patient.IdentityStatus;
        if (d.Family == patient.Family && d.Given == patient.Given && d.BirthName == patient.BirthName && d.BirthDate == patient.BirthDate
            && d.Sex == patient.Sex && d.BirthPlace == patient.BirthPlace && status == patient.IdentityStatus)
        {
            return;
        }

        await _connection.ExecuteAsync(Command(
            """
            UPDATE patient SET family = @Family, given = @Given, birth_name = @BirthName, birth_date = @BirthDate, sex = @Sex,
                               birth_place = @BirthPlace, identity_status = @Status, demographics_at = @At, updated_at = @Now
            WHERE id = @Id;
            """,
            new { patient.Id, d.Family, d.Given, d.BirthName, d.BirthDate, d.Sex, d.BirthPlace, Status = status, At = StoreTime.Write(eventAt), Now = _nowText }))
            .ConfigureAwait(false);
    }

    /// <summary>ADT A40: each merged identity's patient moves to the survivor (the message's patient).</summary>
    private async Task<PatientRecord> MergeAsync(PatientRecord survivor, PatientMerge merge)
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
            await MovePatientAsync(merged.Id, survivor.Id, merge.MergedIdentifiers.Select(i => Key(i.System, i.Value)).ToList()).ConfigureAwait(false);
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
        var args = new { From = from, To = to, Now = _nowText };
        await Execute("UPDATE patient_identifier SET patient_id = @To WHERE patient_id = @From;", args).ConfigureAwait(false);
        await Execute("UPDATE document SET patient_id = @To, updated_at = @Now WHERE patient_id = @From;", args).ConfigureAwait(false);

        var duplicates = (await _connection.QueryAsync<(long FromId, long ToId)>(Command(
            """
            SELECT f.id, t.id FROM entry f
            JOIN entry t ON t.patient_id = @To AND t.kind = f.kind AND t.fingerprint = f.fingerprint
            WHERE f.patient_id = @From;
            """, args)).ConfigureAwait(false)).AsList();
        foreach (var (fromId, toId) in duplicates)
        {
            var pair = new { FromId = fromId, ToId = toId };
            await Execute(
                """
                INSERT INTO entry_source (entry_id, inbound_message_id, sender, recorded_at)
                SELECT @ToId, inbound_message_id, sender, recorded_at FROM entry_source WHERE entry_id = @FromId
                ON CONFLICT DO NOTHING;
                """, pair).ConfigureAwait(false);
            await Execute("DELETE FROM entry_source WHERE entry_id = @FromId;", pair).ConfigureAwait(false);
            await Execute("DELETE FROM entry WHERE id = @FromId;", pair).ConfigureAwait(false);
        }

        await Execute("UPDATE entry SET patient_id = @To, updated_at = @Now WHERE patient_id = @From;", args).ConfigureAwait(false);
        // The survivor's own choices win over the merged identity's for the same organisation.
        await Execute(
            """
            UPDATE dossier_facility_choice SET patient_id = @To
            WHERE patient_id = @From AND organisation NOT IN (SELECT organisation FROM dossier_facility_choice WHERE patient_id = @To);
            """, args).ConfigureAwait(false);
        await Execute("DELETE FROM dossier_facility_choice WHERE patient_id = @From;", args).ConfigureAwait(false);
        await Execute(
            """
            UPDATE dossier_authorization SET patient_id = @To
            WHERE patient_id = @From AND rpps NOT IN (SELECT rpps FROM dossier_authorization WHERE patient_id = @To);
            """, args).ConfigureAwait(false);
        await Execute("DELETE FROM dossier_authorization WHERE patient_id = @From;", args).ConfigureAwait(false);

        if (source.Ins is not null && target.Ins is null)
        {
            await Execute("UPDATE patient SET ins = NULL, ins_system = NULL WHERE id = @From;", args).ConfigureAwait(false);
            await Execute(
                "UPDATE patient SET ins = @Ins, ins_system = @InsSystem, identity_status = @Status, updated_at = @Now WHERE id = @To;",
                new { To = to, source.Ins, source.InsSystem, Status = source.IdentityStatus, Now = _nowText }).ConfigureAwait(false);
        }

        await Execute("UPDATE patient SET merged_into = @To, updated_at = @Now WHERE id = @From OR merged_into = @From;", args).ConfigureAwait(false);
        await Execute(
            """
            INSERT INTO patient_merge (merged_patient_id, survivor_patient_id, inbound_message_id, merged_identifiers, merged_at)
            VALUES (@From, @To, @MessageId, @Identifiers, @Now)
            ON CONFLICT DO NOTHING;
            """,
            new { From = from, To = to, MessageId = _messageId, Identifiers = JsonSerializer.Serialize(identifiers), Now = _nowText }).ConfigureAwait(false);
        _notes.Add(string.Create(CultureInfo.InvariantCulture, $"patient {from} merged into patient {to}"));
    }

    /// <summary>Messages held for one of the (now qualified) patient's identities go back to <c>accepted</c>, in arrival order.</summary>
    private async Task ReleaseHeldAsync(long patientId)
    {
        // One statement for all of the patient's identifiers: this runs for every message about a qualified patient.
        var released = new SortedSet<long>(await _connection.QueryAsync<long>(Command(
            """
            SELECT h.message_id FROM held_identity h JOIN inbound_message m ON m.id = h.message_id
            WHERE h.identity_key IN (SELECT system || '|' || value FROM patient_identifier WHERE patient_id = @Id)
              AND m.status = @Held AND h.message_id <> @Self;
            """, new { Id = patientId, InboxStatus.Held, Self = _messageId })).ConfigureAwait(false));

        var at = _connections.WriteTime(_now);
        foreach (var id in released)
        {
            var changed = await _connection.ExecuteAsync(Command(
                "UPDATE inbound_message SET status = @Accepted, error = NULL WHERE id = @Id AND status = @Held;",
                new { InboxStatus.Accepted, InboxStatus.Held, Id = id })).ConfigureAwait(false);
            if (changed == 0)
                continue;
            await _connection.ExecuteAsync(Command(GroupCommitWriter.InsertHistorySql, new
            {
                MessageId = id, At = at, Status = InboxStatus.Accepted,
                Detail = string.Create(CultureInfo.InvariantCulture, $"released: the patient's identity was qualified by message {_messageId}"),
            })).ConfigureAwait(false);
            await Execute("DELETE FROM held_identity WHERE message_id = @Id;", new { Id = id }).ConfigureAwait(false);
        }

        if (released.Count > 0)
            _notes.Add(string.Create(CultureInfo.InvariantCulture, $"released {released.Count} held message(s) of this identity"));
    }

    // ---- choices ----------------------------------------------------------------------------------------------

    /// <summary>
    /// ZFA as the organisation recorded it: ZFA-9 IO → opposes feeding, ZFA-11 IC → consents to consultation (INC →
    /// not), a choice not collected (NA, empty) keeps the stored one; an older event changes nothing. ZFA-6 = Y sets
    /// the dossier's opposition to emergency access (N leaves it: only the patient lifts it, through the API).
    /// </summary>
    private async Task ApplyChoicesAsync(long patientId, string organisation, DossierChoices choices, DateTimeOffset eventAt)
    {
        if (choices.OpposesEmergencyAccess == true)
        {
            await Execute(
                "UPDATE dossier SET opposes_emergency = @True, updated_at = @Now WHERE patient_id = @Id AND opposes_emergency = @False;",
                new { Id = patientId, True = true, False = false, Now = _nowText }).ConfigureAwait(false);
        }

        if (choices.OpposesFeeding == Choice.NotCollected && choices.ConsentsToConsultation == Choice.NotCollected)
            return;
        var stored = await _connection.QuerySingleOrDefaultAsync<ChoiceRow?>(Command(
            """
            SELECT CASE WHEN opposes_feeding THEN 1 ELSE 0 END AS OpposesFeeding,
                   CASE WHEN consents_consultation THEN 1 ELSE 0 END AS ConsentsConsultation, choice_at AS ChoiceAt
            FROM dossier_facility_choice WHERE patient_id = @Id AND organisation = @Organisation;
            """, new { Id = patientId, Organisation = organisation })).ConfigureAwait(false);
        if (stored?.ChoiceAt is { } storedAt && StoreTime.Read(storedAt) > eventAt)
        {
            _notes.Add("older event than the stored DMP choices: choices kept");
            return;
        }

        var opposes = choices.OpposesFeeding switch { Choice.Yes => true, Choice.No => false, _ => stored?.OpposesFeeding == 1 };
        var consents = choices.ConsentsToConsultation switch { Choice.Yes => true, Choice.No => false, _ => stored?.ConsentsConsultation == 1 };
        var args = new { Id = patientId, Organisation = organisation, Opposes = opposes, Consents = consents, At = StoreTime.Write(eventAt), Now = _nowText };
        if (stored is null)
        {
            await Execute(
                """
                INSERT INTO dossier_facility_choice (patient_id, organisation, opposes_feeding, consents_consultation, choice_at, updated_at)
                VALUES (@Id, @Organisation, @Opposes, @Consents, @At, @Now)
                ON CONFLICT DO NOTHING;
                """, args).ConfigureAwait(false);
        }
        else if ((stored.OpposesFeeding == 1) != opposes || (stored.ConsentsConsultation == 1) != consents)
        {
            await Execute(
                """
                UPDATE dossier_facility_choice SET opposes_feeding = @Opposes, consents_consultation = @Consents, choice_at = @At, updated_at = @Now
                WHERE patient_id = @Id AND organisation = @Organisation;
                """, args).ConfigureAwait(false);
        }
    }

    /// <summary>The first of <paramref name="organisations"/> whose recorded choice opposes feeding, or null.</summary>
    private async Task<string?> OpposedByAsync(long patientId, IEnumerable<string> organisations)
    {
        foreach (var organisation in organisations)
        {
            var opposes = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
                """
                SELECT CASE WHEN opposes_feeding THEN 1 ELSE 0 END FROM dossier_facility_choice
                WHERE patient_id = @Id AND organisation = @Organisation;
                """, new { Id = patientId, Organisation = organisation })).ConfigureAwait(false);
            if (opposes == 1)
                return organisation;
        }

        return null;
    }

    /// <summary>
    /// The organisation keys a message's content comes from: MSH-4 (HL7 v2) and, for documents, the author's
    /// organisation and the custodian (their structure ids; a CDA file has no MSH).
    /// </summary>
    private static IEnumerable<string> OrganisationsOf(DossierApplyMessage m, string? sendingFacility)
    {
        var keys = new List<string>();
        if (sendingFacility is not null)
            keys.Add(sendingFacility);
        foreach (var d in m.Documents)
        {
            if (d.Document.AuthorOrganisation?.Value is { Length: > 0 } author)
                keys.Add(author);
            if (d.Document.Custodian?.Value is { Length: > 0 } custodian)
                keys.Add(custodian);
        }

        return keys.Distinct(StringComparer.Ordinal);
    }

    /// <summary>
    /// The organisation a facility's choices are recorded under: the sending facility (MSH-4) as DESIGN.md's sender key
    /// writes an HD — <c>namespace^id^type</c> with trailing empty components dropped (e.g. <c>CHU-X</c>). A professional
    /// token's <c>org</c> claim is compared with this value (ZFA-11 consent to consultation).
    /// </summary>
    public static string? OrganisationKey(string? sendingFacility)
    {
        if (string.IsNullOrWhiteSpace(sendingFacility))
            return null;
        return sendingFacility.TrimEnd('^');
    }

    // ---- documents --------------------------------------------------------------------------------------------

    /// <summary>
    /// A document's uniqueId as one string: <c>root^extension</c>, or the root alone (a bare OID or UUID); lenient about
    /// the forms mappers give (RFC 3986 `urn:oid:` values, empty systems).
    /// </summary>
    public static string? UniqueKey(Identifier? id)
    {
        if (id is null || string.IsNullOrWhiteSpace(id.Value))
            return null;
        var value = id.Value.Trim();
        var system = id.System?.Trim() ?? "";
        if (system is "" or "urn:ietf:rfc:3986")
            return value.StartsWith("urn:oid:", StringComparison.OrdinalIgnoreCase) ? value[8..] : value;
        return system + "^" + value;
    }

    private static string? UniqueKey(Document d) => UniqueKey(d.UniqueId);

    private async Task<long?> ApplyDocumentAsync(PatientRecord patient, DossierApplyDocument input, DateTimeOffset eventAt)
    {
        var d = input.Document;
        var uniqueId = UniqueKey(d) ?? (input.Body is { } b ? "sha256:" + b.Sha256 : d.Sha256 is { } h ? "sha256:" + h : null);
        if (uniqueId is null)
        {
            _notes.Add("a document without an id or content was not stored");
            return null;
        }

        if (d.Action == DocumentAction.Delete)
            return await DeleteDocumentAsync(patient, d, uniqueId).ConfigureAwait(false);

        var setId = UniqueKey(d.SetId);
        var body = input.Body;
        var id = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
            """
            INSERT INTO document (patient_id, unique_id, set_id, version, status, type_code, type_system, type_display, class_code, class_system,
                                  class_display, title, created_at, service_start, service_stop, author_rpps, author_family, author_given,
                                  author_role, author_org, facility, setting, event_code, confidentiality, language, mime_type, format_code,
                                  size, sha256, sha1, blob_key, masked, hidden_from_patient, inbound_message_id, stored_at, updated_at)
            VALUES (@PatientId, @UniqueId, @SetId, @Version, 'current', @TypeCode, @TypeSystem, @TypeDisplay, @ClassCode, @ClassSystem,
                    @ClassDisplay, @Title, @CreatedAt, @ServiceStart, @ServiceStop, @AuthorRpps, @AuthorFamily, @AuthorGiven,
                    @AuthorRole, @AuthorOrg, @Facility, NULL, @EventCode, @Confidentiality, @Language, @MimeType, @FormatCode,
                    @Size, @Sha256, @Sha1, @BlobKey, @Masked, @Hidden, @MessageId, @Now, @Now)
            ON CONFLICT DO NOTHING
            RETURNING id;
            """,
            new
            {
                PatientId = patient.Id, UniqueId = uniqueId, SetId = setId, d.Version,
                TypeCode = d.TypeCode?.Value, TypeSystem = d.TypeCode?.System, TypeDisplay = d.TypeCode?.Display,
                ClassCode = d.ClassCode?.Value, ClassSystem = d.ClassCode?.System, ClassDisplay = d.ClassCode?.Display,
                d.Title, CreatedAt = Time(d.CreatedAt), ServiceStart = Time(d.ServiceStart), ServiceStop = Time(d.ServiceStop),
                AuthorRpps = Rpps(d.Author?.Id), AuthorFamily = d.Author?.Family, AuthorGiven = d.Author?.Given, AuthorRole = d.Author?.Role,
                AuthorOrg = d.AuthorOrganisation?.Value, Facility = d.SourceFacility ?? d.CustodianName, EventCode = d.ServiceEvent?.Value,
                Confidentiality = d.Confidentiality?.Value, d.Language, MimeType = body?.MimeType ?? d.MimeType, d.FormatCode,
                Size = body?.Size ?? d.Size, Sha256 = body?.Sha256 ?? d.Sha256, Sha1 = body?.Sha1, BlobKey = body?.BlobKey,
                Masked = d.Visibility.MaskedToProfessionals == true, Hidden = d.Visibility.HiddenFromPatient == true,
                MessageId = _messageId, Now = _nowText,
            })).ConfigureAwait(false);

        if (id is null)
        {
            // Known already (another channel, a resend, a replay): one document, one more source.
            var existing = await _connection.QuerySingleOrDefaultAsync<(long Id, long PatientId)?>(Command(
                "SELECT id, patient_id FROM document WHERE unique_id = @UniqueId;", new { UniqueId = uniqueId })).ConfigureAwait(false);
            if (existing is null && setId is not null && d.Version is not null)
            {
                existing = await _connection.QuerySingleOrDefaultAsync<(long Id, long PatientId)?>(Command(
                    "SELECT id, patient_id FROM document WHERE set_id = @SetId AND version = @Version;", new { SetId = setId, d.Version })).ConfigureAwait(false);
                if (existing is not null)
                    _notes.Add($"document {uniqueId} has the setId and version of a stored document: kept as that document");
            }

            if (existing is not { } found)
                throw new InvalidOperationException("The document insert conflicted but no stored document matches it.");
            if (found.PatientId != patient.Id)
                _notes.Add($"document {uniqueId} is stored for another patient: only its source was recorded");
            else if (d.Visibility.ChangesConfidentiality == true)
                await ChangeConfidentialityAsync(patient.Id, found.Id, d).ConfigureAwait(false);
            await AddDocumentSourceAsync(found.Id, eventAt).ConfigureAwait(false);
            return found.Id;
        }

        await AddDocumentSourceAsync(id.Value, eventAt).ConfigureAwait(false);
        await LinkVersionsAsync(patient.Id, id.Value, d, setId).ConfigureAwait(false);
        await AuditChain.AppendAsync(_connection, _transaction,
            [new AuditRecord(patient.Id, "system", _sender, null, "deposit", "DocumentReference",
                id.Value.ToString(CultureInfo.InvariantCulture), "success")],
            _now, _cancellationToken).ConfigureAwait(false);
        return id.Value;
    }

    /// <summary>
    /// A new version: the parents it names (Replaces) and the current lower versions of its set become superseded and
    /// point at it; a version older than one already stored (it arrived late: a higher version of its set, or a
    /// replacement naming it) is stored superseded by that newer one.
    /// </summary>
    private async Task LinkVersionsAsync(long patientId, long id, Document d, string? setId)
    {
        if (d.Replaces.Count > 0 && UniqueKey(d.Replaces[0]) is { } named)
            await Execute("UPDATE document SET replaces_unique_id = @Named WHERE id = @Id;", new { Id = id, Named = named }).ConfigureAwait(false);
        var parents = new List<long>();
        foreach (var parent in d.Replaces)
        {
            if (UniqueKey(parent) is { } key && await _connection.QuerySingleOrDefaultAsync<long?>(Command(
                    "SELECT id FROM document WHERE unique_id = @Key AND patient_id = @PatientId;", new { Key = key, PatientId = patientId })).ConfigureAwait(false) is { } parentId)
            {
                parents.Add(parentId);
            }
        }

        long? newer = null;
        if (setId is not null && d.Version is { } version)
        {
            newer = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
                "SELECT id FROM document WHERE set_id = @SetId AND version > @Version AND patient_id = @PatientId AND id <> @Id ORDER BY version LIMIT 1;",
                new { SetId = setId, Version = version, PatientId = patientId, Id = id })).ConfigureAwait(false);
            parents.AddRange(await _connection.QueryAsync<long>(Command(
                "SELECT id FROM document WHERE set_id = @SetId AND version < @Version AND patient_id = @PatientId AND status = 'current' AND id <> @Id;",
                new { SetId = setId, Version = version, PatientId = patientId, Id = id })).ConfigureAwait(false));
        }

        var uniqueId = UniqueKey(d);
        newer ??= uniqueId is null ? null : await _connection.QuerySingleOrDefaultAsync<long?>(Command(
            "SELECT id FROM document WHERE replaces_unique_id = @UniqueId AND patient_id = @PatientId AND id <> @Id ORDER BY id LIMIT 1;",
            new { UniqueId = uniqueId, PatientId = patientId, Id = id })).ConfigureAwait(false);
        parents = parents.Where(p => p != id).Distinct().ToList();
        if (newer is { } next)
        {
            await Execute(
                "UPDATE document SET status = 'superseded', replaced_by_id = @Next, replaces_id = @Parent, updated_at = @Now WHERE id = @Id;",
                new { Id = id, Next = next, Parent = parents.Count > 0 ? parents[0] : (long?)null, Now = _nowText }).ConfigureAwait(false);
            if (uniqueId is not null)
            {
                await Execute(
                    "UPDATE document SET replaces_id = @Id, updated_at = @Now WHERE id = @Next AND replaces_id IS NULL AND replaces_unique_id = @UniqueId;",
                    new { Id = id, Next = next, UniqueId = uniqueId, Now = _nowText }).ConfigureAwait(false);
            }

            _notes.Add("an older version arrived after a newer one: stored superseded");
            return;
        }

        foreach (var parent in parents)
        {
            await Execute(
                "UPDATE document SET status = 'superseded', replaced_by_id = @Id, updated_at = @Now WHERE id = @Parent AND status = 'current';",
                new { Id = id, Parent = parent, Now = _nowText }).ConfigureAwait(false);
        }

        if (parents.Count > 0)
            await Execute("UPDATE document SET replaces_id = @Parent WHERE id = @Id;", new { Id = id, Parent = parents[0] }).ConfigureAwait(false);
        else if (d.Action == DocumentAction.Replace)
            _notes.Add("a replacement whose parent is not in the dossier: stored as current");
    }

    /// <summary>
    /// MODIF_CONF_CODE = Y on a document already stored: the message changes its confidentiality code and visibility
    /// flags (masked to professionals, hidden from the patient); only what it says, and only when it differs.
    /// </summary>
    private async Task ChangeConfidentialityAsync(long patientId, long documentId, Document d)
    {
        var changed = await _connection.ExecuteAsync(Command(
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
                Now = _nowText,
            })).ConfigureAwait(false);
        if (changed == 0)
            return;
        _notes.Add("the document's confidentiality changed (MODIF_CONF_CODE)");
        var action = d.Visibility.MaskedToProfessionals switch { true => "mask", false => "unmask", _ => "update" };
        await AuditChain.AppendAsync(_connection, _transaction,
            [new AuditRecord(patientId, "system", _sender, null, action, "DocumentReference", documentId.ToString(CultureInfo.InvariantCulture), "success",
                Detail: "MODIF_CONF_CODE")],
            _now, _cancellationToken).ConfigureAwait(false);
    }

    private async Task<long?> DeleteDocumentAsync(PatientRecord patient, Document d, string uniqueId)
    {
        var keys = new List<string> { uniqueId };
        keys.AddRange(d.Replaces.Select(UniqueKey).OfType<string>());
        foreach (var key in keys)
        {
            var target = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
                "SELECT id FROM document WHERE unique_id = @Key AND patient_id = @PatientId;", new { Key = key, PatientId = patient.Id })).ConfigureAwait(false);
            if (target is not { } id)
                continue;
            var changed = await _connection.ExecuteAsync(Command(
                "UPDATE document SET status = 'deleted', updated_at = @Now WHERE id = @Id AND status <> 'deleted';", new { Id = id, Now = _nowText })).ConfigureAwait(false);
            await AddDocumentSourceAsync(id, _now).ConfigureAwait(false);
            if (changed > 0)
            {
                await AuditChain.AppendAsync(_connection, _transaction,
                    [new AuditRecord(patient.Id, "system", _sender, null, "delete", "DocumentReference", id.ToString(CultureInfo.InvariantCulture), "success")],
                    _now, _cancellationToken).ConfigureAwait(false);
            }

            return id;
        }

        _notes.Add($"document {uniqueId} to delete is not in the dossier");
        return null;
    }

    private Task AddDocumentSourceAsync(long documentId, DateTimeOffset recordedAt) =>
        Execute(
            """
            INSERT INTO document_source (document_id, inbound_message_id, sender, recorded_at)
            VALUES (@DocumentId, @MessageId, @Sender, @At)
            ON CONFLICT DO NOTHING;
            """, new { DocumentId = documentId, MessageId = _messageId, Sender = _sender, At = StoreTime.Write(recordedAt) });

    // ---- entries ----------------------------------------------------------------------------------------------

    /// <summary>
    /// One entry per natural key and patient; each source adds an <c>entry_source</c> row. The stored resource is the
    /// newest source's: a source recorded later than the stored one refreshes it (a corrected result), an older or
    /// equal one only adds its provenance.
    /// </summary>
    private async Task ApplyEntriesAsync(PatientRecord patient, DossierApplyMessage m, long?[] documentIds)
    {
        foreach (var e in m.Entries)
        {
            var documentId = e.DocumentIndex is { } i && i >= 0 && i < documentIds.Length ? documentIds[i] : null;
            var recordedAt = StoreTime.Write(e.RecordedAt);
            var args = new
            {
                PatientId = patient.Id, e.Key.Kind, e.Key.Fingerprint, e.Key.Code, e.Key.CodeSystem,
                EffectiveAt = e.Key.EffectiveAt is { } at ? StoreTime.Write(at) : null, DocumentId = documentId, e.Resource,
                RecordedAt = recordedAt, Now = _nowText,
            };
            var id = await _connection.QuerySingleOrDefaultAsync<long?>(Command(
                """
                INSERT INTO entry (patient_id, kind, fingerprint, code, code_system, effective_at, document_id, resource, recorded_at, updated_at)
                VALUES (@PatientId, @Kind, @Fingerprint, @Code, @CodeSystem, @EffectiveAt, @DocumentId, @Resource, @RecordedAt, @Now)
                ON CONFLICT DO NOTHING
                RETURNING id;
                """, args)).ConfigureAwait(false);
            if (id is null)
            {
                var stored = await _connection.QuerySingleAsync<(long Id, string RecordedAt)>(Command(
                    "SELECT id, recorded_at FROM entry WHERE patient_id = @PatientId AND kind = @Kind AND fingerprint = @Fingerprint;", args)).ConfigureAwait(false);
                id = stored.Id;
                if (string.CompareOrdinal(recordedAt, stored.RecordedAt) > 0)
                {
                    await Execute(
                        """
                        UPDATE entry SET resource = @Resource, recorded_at = @RecordedAt, document_id = COALESCE(@DocumentId, document_id), updated_at = @Now
                        WHERE id = @Id;
                        """, new { stored.Id, e.Resource, RecordedAt = recordedAt, DocumentId = documentId, Now = _nowText }).ConfigureAwait(false);
                }
            }

            await Execute(
                """
                INSERT INTO entry_source (entry_id, inbound_message_id, sender, recorded_at)
                VALUES (@EntryId, @MessageId, @Sender, @At)
                ON CONFLICT DO NOTHING;
                """, new { EntryId = id, MessageId = _messageId, Sender = _sender, At = recordedAt }).ConfigureAwait(false);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /// <summary>The keys a held message waits under: <c>system|value</c> of its patient's local identifiers and INS.</summary>
    private static IEnumerable<string> IdentityKeys(Patient subject)
    {
        foreach (var id in subject.LocalIdentifiers)
            yield return Key(id.System, id.Value);
        if (subject.Ins is { } ins)
            yield return Key(ins.System, ins.Value);
    }

    private static string Key(string system, string value) => system + "|" + value;

    /// <summary>RPPS without the `8` prefix the ANS identifier form adds (8 + 11 digits).</summary>
    private static string? Rpps(Identifier? id)
    {
        var value = id?.Value?.Trim();
        if (string.IsNullOrEmpty(value))
            return null;
        return value.Length == 12 && value[0] == '8' && value.All(char.IsAsciiDigit) ? value[1..] : value;
    }

    private static string? Time(PartialDateTime? value) => EntryFingerprint.Instant(value) is { } at ? StoreTime.Write(at) : null;

    private Task<int> Execute(string sql, object args) => _connection.ExecuteAsync(Command(sql, args));

    private CommandDefinition Command(string sql, object? args) => new(sql, args, _transaction, cancellationToken: _cancellationToken);

    private sealed record ChoiceRow
    {
        public long OpposesFeeding { get; init; }
        public long ConsentsConsultation { get; init; }
        public string? ChoiceAt { get; init; }
    }

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
