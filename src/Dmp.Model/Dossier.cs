namespace Dmp.Model;

/// <summary>The state of a patient's DMP as a facility reports it (PAM France ZFA-1).</summary>
public enum DossierStatus { Open, Closed, Absent }

/// <summary>A patient's answer to a question the facility asked: not collected, yes or no.</summary>
public enum Choice { NotCollected, Yes, No }

/// <summary>
/// The patient's DMP choices as collected at a facility (ZFA): the dossier status, opposition to feeding,
/// consent to consultation, and (older senders) facility authorisation and emergency oppositions.
/// </summary>
public sealed record DossierChoices
{
    public DossierStatus? Status { get; init; }
    public PartialDateTime? StatusDate { get; init; }
    public PartialDateTime? ClosedAt { get; init; }

    /// <summary>Yes when the patient, informed, opposes feeding the DMP (ZFA-9 `IO`): documents are refused.</summary>
    public Choice OpposesFeeding { get; init; }
    public PartialDateTime? FeedingChoiceDate { get; init; }

    /// <summary>Yes when the patient consents to consultation by the facility's professionals (ZFA-11 `IC`).</summary>
    public Choice ConsentsToConsultation { get; init; }
    public PartialDateTime? ConsultationChoiceDate { get; init; }

    /// <summary>ZFA-4/5: the facility is authorised (older senders only).</summary>
    public bool? FacilityAuthorised { get; init; }
    public PartialDateTime? FacilityAuthorisedAt { get; init; }

    /// <summary>ZFA-6: opposition to emergency access (older senders only).</summary>
    public bool? OpposesEmergencyAccess { get; init; }

    /// <summary>ZFA-7: opposition to access by the regulation centre (older senders only).</summary>
    public bool? OpposesRegulationCentreAccess { get; init; }

    public required Provenance Provenance { get; init; }
}
