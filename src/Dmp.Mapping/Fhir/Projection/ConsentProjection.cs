using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir.Projection;

/// <summary>The patient's DMP choices collected at a facility (PAM France ZFA) as FHIR Consents, one per choice the facility collected.</summary>
public static class ConsentProjection
{
    /// <summary>
    /// One Consent per collected choice: opposition to feeding, consent to consultation and, from older senders,
    /// emergency and regulation-centre oppositions and the facility's authorisation. <paramref name="owner"/> keys the ids.
    /// </summary>
    public static IEnumerable<F.Consent> ToFhir(DossierChoices choices, string owner, F.ResourceReference subject)
    {
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.OpposesFeeding != Choice.NotCollected)
            yield return Consent(owner, subject, "dmp-feeding", "Opposition to feeding the DMP", choices.OpposesFeeding == Choice.Yes, choices.FeedingChoiceDate);
        if (choices.ConsentsToConsultation != Choice.NotCollected)
            yield return Consent(owner, subject, "dmp-consultation", "Consent to consultation by the facility's professionals", choices.ConsentsToConsultation == Choice.No, choices.ConsultationChoiceDate);
        if (choices.OpposesEmergencyAccess is { } emergency)
            yield return Consent(owner, subject, "dmp-emergency-access", "Opposition to emergency access", emergency, null);
        if (choices.OpposesRegulationCentreAccess is { } regulation)
            yield return Consent(owner, subject, "dmp-regulation-access", "Opposition to access by the regulation centre", regulation, null);
        if (choices.FacilityAuthorised is { } authorised)
            yield return Consent(owner, subject, "dmp-facility-authorisation", "Facility authorised to access the DMP", !authorised, choices.FacilityAuthorisedAt);
    }

    private static F.Consent Consent(string owner, F.ResourceReference subject, string code, string display, bool deny, PartialDateTime? at)
    {
        var consent = new F.Consent
        {
            Id = DeterministicId.From("Consent", owner, code),
            Status = F.Consent.ConsentState.Active,
            Scope = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent", null),
            Category =
            [
                new F.CodeableConcept("http://loinc.org", "59284-0", "Patient Consent", null),
                new F.CodeableConcept(DmpFhir.ConsentCategorySystem, code, display, null),
            ],
            Patient = subject,
            PolicyRule = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActCode", deny ? "OPTOUT" : "OPTIN"),
            Provision = new F.Consent.provisionComponent { Type = deny ? F.Consent.ConsentProvisionType.Deny : F.Consent.ConsentProvisionType.Permit },
        };
        if (at is not null && FhirDates.ToDateTime(at) is { } text)
            consent.DateTimeElement = new F.FhirDateTime(text);
        return consent;
    }
}
