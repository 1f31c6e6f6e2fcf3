using Dapper;
using Dmp.Model;

namespace Dmp.Store.Dossier;

/// <summary>
/// The choices a facility recorded for a patient (ZFA): opposition to feeding the DMP, consent to consultation,
/// opposition to emergency access; and whether one of a message's organisations is opposed.
/// </summary>
internal sealed class FacilityChoices(ApplyContext c)
{
    /// <summary>
    /// Whether each (patient, organisation) this apply recorded choices for now opposes feeding, as stored: the opposition
    /// check that follows the choices in the same message reads it here instead of asking the store again.
    /// </summary>
    private readonly Dictionary<(long Patient, string Organisation), bool> _recorded = [];

    /// <summary>
    /// ZFA as the organisation recorded it: ZFA-9 IO → opposes feeding, ZFA-11 IC → consents to consultation (INC →
    /// not), a choice not collected (NA, empty) keeps the stored one; an older event changes nothing. ZFA-6 = Y sets
    /// the dossier's opposition to emergency access (N leaves it: only the patient lifts it, through the API).
    /// </summary>
    public async Task ApplyChoicesAsync(long patientId, string organisation, DossierChoices choices, DateTimeOffset eventAt)
    {
        if (choices.OpposesEmergencyAccess == true)
        {
            await c.Execute(
                "UPDATE dossier SET opposes_emergency = @True, updated_at = @Now WHERE patient_id = @Id AND opposes_emergency = @False;",
                new { Id = patientId, True = true, False = false, Now = c.NowText }).ConfigureAwait(false);
        }

        if (choices.OpposesFeeding == Choice.NotCollected && choices.ConsentsToConsultation == Choice.NotCollected)
            return;
        var stored = await c.Connection.QuerySingleOrDefaultAsync<ChoiceRow?>(c.Command(
            """
            SELECT CAST(opposes_feeding AS INTEGER) AS OpposesFeeding,
                   CAST(consents_consultation AS INTEGER) AS ConsentsConsultation, choice_at AS ChoiceAt
            FROM dossier_facility_choice WHERE patient_id = @Id AND organisation = @Organisation;
            """, new { Id = patientId, Organisation = organisation })).ConfigureAwait(false);
        if (stored?.ChoiceAt is { } storedAt && StoreTime.Read(storedAt) > eventAt)
        {
            c.Notes.Add("older event than the stored DMP choices: choices kept");
            _recorded[(patientId, organisation)] = stored.OpposesFeeding == 1;
            return;
        }

        var opposes = choices.OpposesFeeding switch { Choice.Yes => true, Choice.No => false, _ => stored?.OpposesFeeding == 1 };
        var consents = choices.ConsentsToConsultation switch { Choice.Yes => true, Choice.No => false, _ => stored?.ConsentsConsultation == 1 };
        _recorded[(patientId, organisation)] = opposes;
        var args = new { Id = patientId, Organisation = organisation, Opposes = opposes, Consents = consents, At = StoreTime.Write(eventAt), Now = c.NowText };
        if (stored is null)
        {
            await c.Execute(c.Sql.InsertFacilityChoice, args).ConfigureAwait(false);
        }
        else if ((stored.OpposesFeeding == 1) != opposes || (stored.ConsentsConsultation == 1) != consents)
        {
            await c.Execute(
                """
                UPDATE dossier_facility_choice SET opposes_feeding = @Opposes, consents_consultation = @Consents, choice_at = @At, updated_at = @Now
                WHERE patient_id = @Id AND organisation = @Organisation;
                """, args).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The first of <paramref name="organisations"/> whose recorded choice opposes feeding, or null: as this apply recorded
    /// it, else as stored.
    /// </summary>
    public async Task<string?> OpposedByAsync(long patientId, IEnumerable<string> organisations)
    {
        foreach (var organisation in organisations)
        {
            if (_recorded.TryGetValue((patientId, organisation), out var recorded))
            {
                if (recorded)
                    return organisation;
                continue;
            }

            var opposes = await c.Connection.QuerySingleOrDefaultAsync<long?>(c.Command(
                """
                SELECT CAST(opposes_feeding AS INTEGER) FROM dossier_facility_choice
                WHERE patient_id = @Id AND organisation = @Organisation;
                """, new { Id = patientId, Organisation = organisation })).ConfigureAwait(false);
            if (opposes == 1)
                return organisation;
        }

        return null;
    }

    private sealed record ChoiceRow
    {
        public long OpposesFeeding { get; init; }
        public long ConsentsConsultation { get; init; }
        public string? ChoiceAt { get; init; }
    }
}
