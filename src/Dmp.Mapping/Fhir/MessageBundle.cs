using System.Globalization;
using System.Security.Cryptography;
using Dmp.Model;
using F = Hl7.Fhir.Model;

namespace Dmp.Mapping.Fhir;

/// <summary>
/// Writes what one message means (<see cref="MappedMessage"/>) into a collection Bundle: MessageHeader, Patients
/// (with merges as links), Consents for the DMP choices, Encounters, DocumentReferences, reports and entries. Ids
/// are deterministic; references point inside the Bundle or are logical (identifier + display).
/// </summary>
public static class MessageBundle
{
    /// <summary>Our extensions and code systems (no published profile covers them yet).</summary>
    public const string DossierStatusExtension = "urn:dmp-ingest:fhir:extension:dmp-dossier-status";
    public const string MovementExtension = "urn:dmp-ingest:fhir:extension:movement";
    public const string DocumentActionExtension = "urn:dmp-ingest:fhir:extension:document-action";
    public const string RoutingExtension = "urn:dmp-ingest:fhir:extension:dmp-routing";
    public const string ConsentCategorySystem = "urn:dmp-ingest:fhir:consent-category";
    /// <summary>The DMP visibility codes (JDV_J08 value set) as we write them in securityLabel.</summary>
    public const string VisibilitySystem = "urn:oid:1.2.250.1.213.1.1.4.13";

    public static void Append(F.Bundle bundle, F.OperationOutcome outcome, MappedMessage m, ReadOnlySpan<byte> raw)
    {
        var info = m.Info;
        var messageKey = Convert.ToHexString(SHA256.HashData(raw));
        var headerAt = bundle.Entry.Count;
        var focus = new List<F.ResourceReference>();
        F.ResourceReference? subject = null;
        F.Patient? survivor = null;
        for (var i = 0; i < m.Patients.Count; i++)
        {
            var patient = m.Patients[i];
            var key = patient.Ins ?? patient.LocalIdentifiers.FirstOrDefault();
            var resource = FhirProjection.ToFhir(patient, PatientId(key, info.ControlId, i));
            if (i == 0 && m.Choices.FirstOrDefault(c => c.Status is not null) is { Status: { } status })
                resource.Extension.Add(new F.Extension(DossierStatusExtension, new F.Code(status switch { DossierStatus.Open => "open", DossierStatus.Closed => "closed", _ => "absent" })));
            if (patient.IdentityCheck?.EvidenceType is { } evidence && resource.Extension.Find(e => e.Url == FhirProjection.IdentityReliabilityExtension) is { } reliability)
                reliability.Extension.Add(new F.Extension("validationMode", new F.Coding("https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-validation-mode", evidence)));
            Add(bundle, resource);
            var reference = Ref(resource);
            focus.Add(reference);
            subject ??= Ref(resource);
            survivor ??= resource;
        }

        foreach (var merge in m.Merges)
        {
            if (survivor is null)
                break;
            var first = merge.MergedIdentifiers.FirstOrDefault(id => Oids.IsIns(id.System)) ?? merge.MergedIdentifiers[0];
            var merged = FhirProjection.ToFhir(new Patient { LocalIdentifiers = merge.MergedIdentifiers.Where(id => !Oids.IsIns(id.System)).ToList(), Ins = merge.MergedIdentifiers.FirstOrDefault(id => Oids.IsIns(id.System)) }, PatientId(first, info.ControlId, 99));
            if (merged.Id == survivor.Id)
                continue;
            merged.Active = false;
            merged.Link.Add(new F.Patient.LinkComponent { Other = Ref(survivor), Type = F.Patient.LinkType.ReplacedBy });
            survivor.Link.Add(new F.Patient.LinkComponent { Other = Ref(merged), Type = F.Patient.LinkType.Replaces });
            Add(bundle, merged);
        }

        var owner = subject?.Reference ?? info.Sender + "|" + info.ControlId;
        foreach (var choices in m.Choices)
        {
            if (subject is null)
                break;
            AddConsent(bundle, owner, subject, "dmp-feeding", "Opposition to feeding the DMP", choices.OpposesFeeding == Choice.Yes, choices.OpposesFeeding != Choice.NotCollected, choices.FeedingChoiceDate);
            AddConsent(bundle, owner, subject, "dmp-consultation", "Consent to consultation by the facility's professionals", choices.ConsentsToConsultation == Choice.No, choices.ConsentsToConsultation != Choice.NotCollected, choices.ConsultationChoiceDate);
            if (choices.OpposesEmergencyAccess is { } emergency)
                AddConsent(bundle, owner, subject, "dmp-emergency-access", "Opposition to emergency access", emergency, true, null);
            if (choices.OpposesRegulationCentreAccess is { } regulation)
                AddConsent(bundle, owner, subject, "dmp-regulation-access", "Opposition to access by the regulation centre", regulation, true, null);
            if (choices.FacilityAuthorised is { } authorised)
                AddConsent(bundle, owner, subject, "dmp-facility-authorisation", "Facility authorised to access the DMP", !authorised, true, choices.FacilityAuthorisedAt);
        }

        for (var i = 0; i < m.Encounters.Count; i++)
            Add(bundle, ToFhir(m.Encounters[i], EncounterId(m.Encounters[i], info, i), subject));

        for (var i = 0; i < m.Documents.Count; i++)
        {
            var document = m.Documents[i];
            Add(bundle, ToFhir(document, DeterministicId.From("DocumentReference", document.UniqueId?.System, document.UniqueId?.Value ?? $"{info.Sender}|{info.ControlId}#{i}", document.Sha256), subject));
        }

        for (var r = 0; r < m.Reports.Count; r++)
            AddReport(bundle, m.Reports[r], $"{info.Sender}|{info.ControlId}|{messageKey}#{r}", subject, laboratoryCategory: false);
        for (var o = 0; o < m.Observations.Count; o++)
            Add(bundle, ToFhir(m.Observations[o], DeterministicId.From("Observation", info.Sender, info.ControlId, messageKey, Invariant(o)), subject));

        if (subject is not null)
        {
            for (var i = 0; i < m.Allergies.Count; i++)
                Add(bundle, ToFhir(m.Allergies[i], DeterministicId.From("AllergyIntolerance", owner, messageKey, Invariant(i)), subject));
            for (var i = 0; i < m.Problems.Count; i++)
                Add(bundle, ToFhir(m.Problems[i], DeterministicId.From("Condition", owner, messageKey, Invariant(i)), subject));
            for (var i = 0; i < m.Medications.Count; i++)
                Add(bundle, ToFhir(m.Medications[i], DeterministicId.From("Medication", owner, messageKey, Invariant(i)), subject));
            for (var i = 0; i < m.Immunizations.Count; i++)
                Add(bundle, ToFhir(m.Immunizations[i], DeterministicId.From("Immunization", owner, messageKey, Invariant(i)), subject));
            for (var i = 0; i < m.Procedures.Count; i++)
                Add(bundle, ToFhir(m.Procedures[i], DeterministicId.From("Procedure", owner, messageKey, Invariant(i)), subject));
        }
        else if (m.Allergies.Count + m.Problems.Count + m.Medications.Count + m.Immunizations.Count + m.Procedures.Count > 0)
        {
            outcome.Issue.Add(Issue(new MappingNote(NoteSeverity.Warning, "clinical entries without a patient (no PID) were not written")));
        }

        var header = FhirProjection.ToFhir(info, DeterministicId.From("MessageHeader", info.Sender, info.ControlId, messageKey), focus);
        bundle.Entry.Insert(headerAt, Entry(header));
        var targets = bundle.Entry.Skip(headerAt).Select(e => e.Resource).OfType<F.Resource>().Select(Ref).ToList();
        if (m.Provenance?.RecordedAt is { } recorded)
            Add(bundle, ToProvenance(info, recorded, DeterministicId.From("Provenance", info.Sender, info.ControlId, messageKey), targets));
        else
            outcome.Issue.Add(Issue(new MappingNote(NoteSeverity.Information, $"message {info.ControlId}: no Provenance written, MSH-7 (the time of the message) has no time")));
        foreach (var note in m.Notes)
            outcome.Issue.Add(Issue(note));
    }

    /// <summary>An HD (`namespace^universal id^type`) as a name: its namespace, else its universal id.</summary>
    private static string? HdName(string? hd)
    {
        if (string.IsNullOrEmpty(hd))
            return null;
        var parts = hd.Split('^');
        return parts[0].Length > 0 ? parts[0] : parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
    }

    /// <summary>An HD's universal id when it is an OID (`^1.2.250…^ISO`), as a URI identifier.</summary>
    private static F.Identifier? HdIdentifier(string? hd)
    {
        var parts = hd?.Split('^');
        return parts is { Length: > 1 } && Generic.PatientReader.IsOid(parts[1]) ? new F.Identifier("urn:ietf:rfc:3986", "urn:oid:" + parts[1]) : null;
    }

    /// <summary>
    /// The Provenance of one message: every resource it produced as targets, recorded at MSH-7 (an instant, never the
    /// clock), the sending application and facility as the agent, the message itself (MSH-10) as the source entity.
    /// </summary>
    private static F.Provenance ToProvenance(MessageInfo info, DateTimeOffset recorded, string id, List<F.ResourceReference> targets)
    {
        var parts = new[] { HdName(info.SendingApplication), HdName(info.SendingFacility) }.Where(p => !string.IsNullOrEmpty(p)).Distinct().ToList();
        var sender = parts.Count > 0 ? string.Join(" / ", parts) : $"unnamed sender (MSH-3 and MSH-4 empty) on {info.Sender.TrimEnd('|', '/')}";
        var type = info.MessageType is null ? "HL7 v2 message" : $"HL7 v2 {info.MessageType}^{info.TriggerEvent} message";
        var provenance = new F.Provenance
        {
            Id = id,
            Target = targets,
            RecordedElement = new F.Instant(recorded),
        };
        provenance.Agent.Add(new F.Provenance.AgentComponent
        {
            Type = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author", null),
            Who = new F.ResourceReference { Display = sender, Identifier = HdIdentifier(info.SendingFacility) ?? HdIdentifier(info.SendingApplication) },
        });
        provenance.Entity.Add(new F.Provenance.EntityComponent
        {
            Role = F.Provenance.ProvenanceEntityRole.Source,
            What = new F.ResourceReference
            {
                Identifier = string.IsNullOrEmpty(info.ControlId) ? null : new F.Identifier { Value = info.ControlId, Type = new F.CodeableConcept { Text = "MSH-10 message control id" } },
                Display = string.IsNullOrEmpty(info.ControlId) ? type + " from " + sender : $"{type} {info.ControlId} from {sender}",
            },
        });
        return provenance;
    }

    /// <summary>
    /// A report with its results (and specimen) as DiagnosticReport + Observations; a report read from a document
    /// (CR-BIO) is also categorised as laboratory.
    /// </summary>
    private static void AddReport(F.Bundle bundle, DiagnosticReport report, string reportKey, F.ResourceReference? subject, bool laboratoryCategory)
    {
        var resource = ToFhir(report, DeterministicId.From("DiagnosticReport", reportKey), subject, laboratoryCategory);
        if (report.Specimen is { } specimen)
        {
            var sp = new F.Specimen { Id = DeterministicId.From("Specimen", reportKey), Type = Concept(specimen.Type), Subject = subject };
            if (specimen.Id is { } spId)
                sp.Identifier.Add(Identifier(spId));
            if (DateTime(specimen.CollectedAt) is { } collected)
                sp.Collection = new F.Specimen.CollectionComponent { Collected = collected };
            Add(bundle, sp);
            resource.Specimen.Add(Ref(sp));
        }
        var results = new List<F.Observation>();
        for (var o = 0; o < report.Results.Count; o++)
            results.Add(ToFhir(report.Results[o], DeterministicId.From("Observation", reportKey, Invariant(o)), subject));
        resource.Result = results.Select(Ref).ToList();
        Add(bundle, resource);
        foreach (var observation in results)
            Add(bundle, observation);
    }

    /// <summary>
    /// One model record as its FHIR R4 resource, as the dossier stores it per entry or document: the same projection
    /// the Bundle uses, with <paramref name="subject"/> left null for the reader to set. A report gets no results or
    /// specimen here: its results are entries of their own (see <see cref="ToFhir(DiagnosticReport, string, F.ResourceReference?, bool)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The record is not one of the model's clinical records or documents.</exception>
    public static F.Resource ToResource(object record, string id, F.ResourceReference? subject = null) => record switch
    {
        Allergy a => ToFhir(a, id, subject),
        Problem p => ToFhir(p, id, subject),
        Medication m => ToFhir(m, id, subject),
        Immunization i => ToFhir(i, id, subject),
        Procedure p => ToFhir(p, id, subject),
        Observation o => ToFhir(o, id, subject),
        Encounter e => ToFhir(e, id, subject),
        Document d => ToFhir(d, id, subject),
        DiagnosticReport r => ToFhir(r, id, subject, laboratoryCategory: r.Provenance.DocumentId is not null),
        _ => throw new ArgumentException($"{record?.GetType().Name ?? "null"} has no FHIR projection.", nameof(record)),
    };

    /// <summary>A report without its results and specimen (the caller links those); a report read from a document is also laboratory.</summary>
    public static F.DiagnosticReport ToFhir(DiagnosticReport report, string id, F.ResourceReference? subject, bool laboratoryCategory)
    {
        ArgumentNullException.ThrowIfNull(report);
        var resource = new F.DiagnosticReport
        {
            Id = id,
            Status = ReportStatus(report.Status),
            Code = Concept(report.Code) ?? new F.CodeableConcept { Text = "unknown" },
            Subject = subject,
            Effective = DateTime(report.EffectiveAt),
            Issued = Instant(report.IssuedAt),
        };
        if (laboratoryCategory)
            resource.Category.Add(new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB"));
        if (report.Id is { } rid)
            resource.Identifier.Add(Identifier(rid));
        return resource;
    }

    /// <summary>XDS uniqueId as FHIR writes it (masterIdentifier, relatesTo targets): see <see cref="MasterIdentifier"/>.</summary>
    public static F.Identifier DocumentIdentifier(Identifier id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return MasterIdentifier(id);
    }

    /// <summary>
    /// Writes a document's entries (a CDA body): encounters, reports with their results, observations, allergies,
    /// problems, medications, immunizations and procedures, each referencing <paramref name="subject"/>. Ids derive
    /// from <paramref name="key"/> (the document's identity) and the entry's position. Returns the encounters' references.
    /// </summary>
    public static IReadOnlyList<F.ResourceReference> AppendEntries(F.Bundle bundle, MappedMessage m, F.ResourceReference subject, string key)
    {
        var encounters = new List<F.ResourceReference>();
        for (var i = 0; i < m.Encounters.Count; i++)
        {
            var e = m.Encounters[i];
            var resource = ToFhir(e, e.Id is { } eid ? DeterministicId.From("Encounter", eid.System, eid.Value) : DeterministicId.From("Encounter", key, Invariant(i)), subject);
            if (bundle.Entry.Exists(x => x.Resource?.Id == resource.Id))
                resource.Id = DeterministicId.From("Encounter", key, Invariant(i));
            Add(bundle, resource);
            encounters.Add(Ref(resource));
        }
        for (var r = 0; r < m.Reports.Count; r++)
            AddReport(bundle, m.Reports[r], key + "|report#" + Invariant(r), subject, laboratoryCategory: true);
        for (var o = 0; o < m.Observations.Count; o++)
            Add(bundle, ToFhir(m.Observations[o], DeterministicId.From("Observation", key, Invariant(o)), subject));
        for (var i = 0; i < m.Allergies.Count; i++)
            Add(bundle, ToFhir(m.Allergies[i], DeterministicId.From("AllergyIntolerance", key, Invariant(i)), subject));
        for (var i = 0; i < m.Problems.Count; i++)
            Add(bundle, ToFhir(m.Problems[i], DeterministicId.From("Condition", key, Invariant(i)), subject));
        for (var i = 0; i < m.Medications.Count; i++)
            Add(bundle, ToFhir(m.Medications[i], DeterministicId.From("Medication", key, Invariant(i)), subject));
        for (var i = 0; i < m.Immunizations.Count; i++)
            Add(bundle, ToFhir(m.Immunizations[i], DeterministicId.From("Immunization", key, Invariant(i)), subject));
        for (var i = 0; i < m.Procedures.Count; i++)
            Add(bundle, ToFhir(m.Procedures[i], DeterministicId.From("Procedure", key, Invariant(i)), subject));
        return encounters;
    }

    public static F.OperationOutcome.IssueComponent Issue(MappingNote note) => new()
    {
        Severity = note.Severity == NoteSeverity.Warning ? F.OperationOutcome.IssueSeverity.Warning : F.OperationOutcome.IssueSeverity.Information,
        Code = note.Text.StartsWith("no mapping rule", StringComparison.Ordinal) ? F.OperationOutcome.IssueType.NotSupported
            : note.Severity == NoteSeverity.Warning ? F.OperationOutcome.IssueType.Processing : F.OperationOutcome.IssueType.Informational,
        Diagnostics = note.Text,
    };

    private static string PatientId(Identifier? key, string? controlId, int index) =>
        DeterministicId.From("Patient", key?.System, key?.Value ?? $"{controlId}#{index}");

    private static string EncounterId(Encounter e, MessageInfo info, int index) =>
        e.Id is { } id ? DeterministicId.From("Encounter", id.System, id.Value) : DeterministicId.From("Encounter", info.Sender, info.ControlId, Invariant(index));

    private static void AddConsent(F.Bundle bundle, string owner, F.ResourceReference subject, string code, string display, bool deny, bool collected, PartialDateTime? at)
    {
        if (!collected)
            return;
        var consent = new F.Consent
        {
            Id = DeterministicId.From("Consent", owner, code),
            Status = F.Consent.ConsentState.Active,
            Scope = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent", null),
            Category =
            [
                new F.CodeableConcept("http://loinc.org", "59284-0", "Patient Consent", null),
                new F.CodeableConcept(ConsentCategorySystem, code, display, null),
            ],
            Patient = subject,
            PolicyRule = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActCode", deny ? "OPTOUT" : "OPTIN"),
            Provision = new F.Consent.provisionComponent { Type = deny ? F.Consent.ConsentProvisionType.Deny : F.Consent.ConsentProvisionType.Permit },
        };
        if (at is not null && FhirDates.ToDateTime(at) is { } text)
            consent.DateTimeElement = new F.FhirDateTime(text);
        Add(bundle, consent);
    }

    private static F.Encounter ToFhir(Encounter e, string id, F.ResourceReference? subject)
    {
        var encounter = new F.Encounter
        {
            Id = id,
            Status = e.Status switch
            {
                "planned" => F.Encounter.EncounterStatus.Planned,
                "arrived" => F.Encounter.EncounterStatus.Arrived,
                "in-progress" => F.Encounter.EncounterStatus.InProgress,
                "finished" => F.Encounter.EncounterStatus.Finished,
                "cancelled" => F.Encounter.EncounterStatus.Cancelled,
                "entered-in-error" => F.Encounter.EncounterStatus.EnteredInError,
                _ => F.Encounter.EncounterStatus.Unknown,
            },
            Class = e.Class is { } c ? new F.Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", c) : new F.Coding("http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK"),
            Subject = subject,
        };
        if (e.Id is { } identifier)
            encounter.Identifier.Add(Identifier(identifier));
        var start = DateTime(e.Start);
        var end = DateTime(e.End);
        if (start is not null || end is not null)
            encounter.Period = new F.Period { StartElement = start, EndElement = end };
        if (e.Attending is { } attending)
        {
            encounter.Participant.Add(new F.Encounter.ParticipantComponent
            {
                Type = [new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND")],
                Individual = PersonRef(attending),
            });
        }
        foreach (var movement in e.Movements)
        {
            var ext = new F.Extension { Url = MovementExtension };
            if (movement.Id is { } mid)
                ext.Extension.Add(new F.Extension("identifier", Identifier(mid)));
            if (DateTime(movement.At) is { } at)
                ext.Extension.Add(new F.Extension("date", at));
            if (movement.Action is { } action)
                ext.Extension.Add(new F.Extension("action", new F.Code(action)));
            if (movement.Event is { } ev)
                ext.Extension.Add(new F.Extension("event", new F.Code(ev)));
            if (movement.Historic is { } historic)
                ext.Extension.Add(new F.Extension("historic", new F.FhirBoolean(historic)));
            if (movement.MedicalUnit is { } unit)
                ext.Extension.Add(new F.Extension("medicalUnit", new F.FhirString(unit)));
            if (movement.Mode is { } mode)
                ext.Extension.Add(new F.Extension("mode", new F.Code(mode)));
            if (ext.Extension.Count > 0)
                encounter.Extension.Add(ext);
        }
        if (e.Location is { } location)
            encounter.ServiceType = new F.CodeableConcept { Text = location };
        return encounter;
    }

    private static F.DocumentReference ToFhir(Document d, string id, F.ResourceReference? subject)
    {
        var reference = new F.DocumentReference
        {
            Id = id,
            Status = d.Status switch
            {
                DocumentStatus.Superseded => F.DocumentReferenceStatus.Superseded,
                DocumentStatus.Deleted => F.DocumentReferenceStatus.EnteredInError,
                _ => F.DocumentReferenceStatus.Current,
            },
            Type = Concept(d.TypeCode),
            Subject = subject,
            Description = d.Title,
        };
        // Validated by its author: final; known not to be (a draft): preliminary, which the store holds.
        if (d.ValidatedByAuthor is { } validated)
            reference.DocStatus = validated ? F.CompositionStatus.Final : F.CompositionStatus.Preliminary;
        if (d.UniqueId is { } uid)
            reference.MasterIdentifier = MasterIdentifier(uid);
        if (Concept(d.ClassCode) is { } category)
            reference.Category.Add(category);
        if (d.Author is { } author)
            reference.Author.Add(PersonRef(author));
        if (d.AuthorOrganisation is { } org)
            reference.Author.Add(new F.ResourceReference { Identifier = Identifier(org) });
        if (Concept(d.Confidentiality) is { } confidentiality)
            reference.SecurityLabel.Add(confidentiality);
        if (d.Visibility.MaskedToProfessionals == true)
            reference.SecurityLabel.Add(new F.CodeableConcept(VisibilitySystem, "MASQUE_PS", "Masqué aux professionnels de santé", null));
        if (d.Visibility.HiddenFromPatient == true)
            reference.SecurityLabel.Add(new F.CodeableConcept(VisibilitySystem, "INVISIBLE_PATIENT", "Non visible par le patient", null));
        if (d.Visibility.HiddenFromLegalRepresentatives == true)
            reference.SecurityLabel.Add(new F.CodeableConcept(VisibilitySystem, "INVISIBLE_REPRESENTANTS_LEGAUX", "Non visible par les représentants légaux", null));
        foreach (var parent in d.Replaces)
        {
            reference.RelatesTo.Add(new F.DocumentReference.RelatesToComponent
            {
                Code = F.DocumentRelationshipType.Replaces,
                Target = new F.ResourceReference { Identifier = MasterIdentifier(parent) },
            });
        }
        var content = d.Content ?? ReadOnlyMemory<byte>.Empty;
        var attachment = new F.Attachment
        {
            ContentType = d.MimeType,
            Language = d.Language,
            Data = content.Length > 0 ? content.ToArray() : null,
            // R4 `size` is unsignedInt: set the element (the `Size` shortcut writes an R5 integer64 string).
            SizeElement = d.Size is { } size ? new F.UnsignedInt((int)size) : null,
            Hash = SHA1.HashData(content.Span),
            Title = d.Title,
            CreationElement = DateTime(d.CreatedAt),
        };
        reference.Content.Add(new F.DocumentReference.ContentComponent { Attachment = attachment });
        var start = DateTime(d.ServiceStart);
        var stop = DateTime(d.ServiceStop);
        if (start is not null || stop is not null)
            reference.Context = new F.DocumentReference.ContextComponent { Period = new F.Period { StartElement = start, EndElement = stop } };
        reference.Extension.Add(new F.Extension(DocumentActionExtension, new F.Code(d.Action switch { DocumentAction.Replace => "replace", DocumentAction.Delete => "delete", _ => "new" })));
        var routing = new F.Extension { Url = RoutingExtension };
        AddFlag(routing, "destDmp", d.Routing.ToDmp);
        AddFlag(routing, "destMssProfessional", d.Routing.ToProfessionalMailbox);
        AddFlag(routing, "destMssPatient", d.Routing.ToPatientMailbox);
        AddFlag(routing, "ackReception", d.Routing.AskReceptionAck);
        AddFlag(routing, "ackRead", d.Routing.AskReadAck);
        AddFlag(routing, "secretConnection", d.Visibility.SecretConnection);
        AddFlag(routing, "changesConfidentiality", d.Visibility.ChangesConfidentiality);
        if (routing.Extension.Count > 0)
            reference.Extension.Add(routing);
        return reference;
    }

    private static void AddFlag(F.Extension parent, string name, bool? value)
    {
        if (value is { } v)
            parent.Extension.Add(new F.Extension(name, new F.FhirBoolean(v)));
    }

    private static F.Observation ToFhir(Observation o, string id, F.ResourceReference? subject)
    {
        var observation = new F.Observation
        {
            Id = id,
            Status = o.Status switch
            {
                "registered" => F.ObservationStatus.Registered,
                "preliminary" => F.ObservationStatus.Preliminary,
                "final" => F.ObservationStatus.Final,
                "amended" => F.ObservationStatus.Amended,
                "corrected" => F.ObservationStatus.Corrected,
                "cancelled" => F.ObservationStatus.Cancelled,
                "entered-in-error" => F.ObservationStatus.EnteredInError,
                _ => F.ObservationStatus.Unknown,
            },
            Code = Concept(o.Code) ?? new F.CodeableConcept { Text = "unknown" },
            Subject = subject,
            Effective = DateTime(o.EffectiveAt),
        };
        if (o.Category is { } observationCategory)
            observation.Category.Add(new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", observationCategory));
        if (o.Value is { } v)
        {
            if (v.Number is { } n && v.Number2 is { } n2)
            {
                observation.Value = v.Separator is ":" or "/"
                    ? new F.Ratio { Numerator = new F.Quantity { Value = n }, Denominator = new F.Quantity { Value = n2 } }
                    : new F.Range { Low = Simple(n, o.Unit), High = Simple(n2, o.Unit) };
            }
            else if (v.Number is { } number)
            {
                var quantity = new F.Quantity { Value = number };
                ApplyUnit(quantity, o.Unit);
                quantity.Comparator = v.Comparator switch
                {
                    "<" => F.Quantity.QuantityComparator.LessThan,
                    "<=" => F.Quantity.QuantityComparator.LessOrEqual,
                    ">" => F.Quantity.QuantityComparator.GreaterThan,
                    ">=" => F.Quantity.QuantityComparator.GreaterOrEqual,
                    _ => null,
                };
                observation.Value = quantity;
            }
            else if (Concept(v.Coded) is { } coded)
            {
                observation.Value = coded;
            }
            else if (DateTime(v.Date) is { } date)
            {
                observation.Value = date;
            }
            else if (!string.IsNullOrEmpty(v.Text))
            {
                observation.Value = new F.FhirString(v.Text);
            }
        }
        foreach (var flag in o.Interpretation)
            observation.Interpretation.Add(new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", flag));
        if (o.Range is { } range)
        {
            observation.ReferenceRange.Add(new F.Observation.ReferenceRangeComponent
            {
                Low = range.Low is { } low ? Simple(low, o.Unit) : null,
                High = range.High is { } high ? Simple(high, o.Unit) : null,
                Text = range.Text,
            });
        }
        return observation;
    }

    private static F.Quantity Simple(decimal value, Code? unit)
    {
        var q = new F.Quantity { Value = value };
        ApplyUnit(q, unit);
        return q;
    }

    private static void ApplyUnit(F.Quantity quantity, Code? unit)
    {
        if (unit is null)
            return;
        quantity.Unit = string.IsNullOrEmpty(unit.Display) ? unit.Value : unit.Display;
        if (CodeSystemUri(unit.System) == "http://unitsofmeasure.org" && unit.Value.Length > 0)
        {
            quantity.System = "http://unitsofmeasure.org";
            quantity.Code = unit.Value;
        }
    }

    private static F.AllergyIntolerance ToFhir(Allergy a, string id, F.ResourceReference? subject)
    {
        var allergy = new F.AllergyIntolerance
        {
            Id = id,
            Patient = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            Code = Concept(a.Substance),
            Type = a.Type switch { "allergy" => F.AllergyIntolerance.AllergyIntoleranceType.Allergy, "intolerance" => F.AllergyIntolerance.AllergyIntoleranceType.Intolerance, _ => null },
            Criticality = a.Criticality switch
            {
                "low" => F.AllergyIntolerance.AllergyIntoleranceCriticality.Low,
                "high" => F.AllergyIntolerance.AllergyIntoleranceCriticality.High,
                "unable-to-assess" => F.AllergyIntolerance.AllergyIntoleranceCriticality.UnableToAssess,
                _ => null,
            },
            RecordedDateElement = DateTime(a.IdentifiedAt),
        };
        F.AllergyIntolerance.AllergyIntoleranceCategory? category = a.Category switch
        {
            "food" => F.AllergyIntolerance.AllergyIntoleranceCategory.Food,
            "medication" => F.AllergyIntolerance.AllergyIntoleranceCategory.Medication,
            "environment" => F.AllergyIntolerance.AllergyIntoleranceCategory.Environment,
            "biologic" => F.AllergyIntolerance.AllergyIntoleranceCategory.Biologic,
            _ => null,
        };
        if (category is not null)
            allergy.Category = [category];
        if (a.Reaction is { } reaction)
            allergy.Reaction.Add(new F.AllergyIntolerance.ReactionComponent { Manifestation = [new F.CodeableConcept { Text = reaction }] });
        return allergy;
    }

    private static F.Condition ToFhir(Problem p, string id, F.ResourceReference? subject)
    {
        var condition = new F.Condition
        {
            Id = id,
            Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            Code = Concept(p.Code),
            RecordedDateElement = DateTime(p.RecordedAt),
            Onset = DateTime(p.OnsetAt),
            Category =
            [
                new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-category",
                    p.Category is "problem-list-item" or "encounter-diagnosis" ? p.Category : p.Kind == ProblemKind.History ? "problem-list-item" : "encounter-diagnosis"),
            ],
        };
        var clinical = p.ClinicalStatus is "active" or "recurrence" or "relapse" or "inactive" or "remission" or "resolved" ? p.ClinicalStatus
            : p.Kind == ProblemKind.History ? "resolved" : null;
        if (clinical is not null)
            condition.ClinicalStatus = new F.CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical);
        return condition;
    }

    private static F.Resource ToFhir(Medication m, string id, F.ResourceReference? subject)
    {
        if (m.Kind == MedicationKind.Reported)
        {
            var statement = new F.MedicationStatement
            {
                Id = id,
                Status = F.MedicationStatement.MedicationStatusCodes.Unknown,
                Medication = Concept(m.Drug) ?? new F.CodeableConcept { Text = "unknown" },
                Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
                Effective = DateTime(m.At),
                InformationSource = m.Prescriber is { } source ? PersonRef(source) : null,
            };
            if (m.DosageText is not null || m.Route is not null)
                statement.Dosage.Add(new F.Dosage { Text = m.DosageText, Route = Concept(m.Route) });
            return statement;
        }
        if (m.Kind == MedicationKind.Dispensed)
        {
            var dispense = new F.MedicationDispense
            {
                Id = id,
                Status = F.MedicationDispense.MedicationDispenseStatusCodes.Completed,
                Medication = Concept(m.Drug) ?? new F.CodeableConcept { Text = "unknown" },
                Subject = subject,
                WhenHandedOverElement = DateTime(m.At),
                Quantity = m.Quantity is { } q ? new F.Quantity { Value = q, Unit = m.QuantityUnit } : null,
            };
            if (m.Dispenser is { } dispenser)
                dispense.Performer.Add(new F.MedicationDispense.PerformerComponent { Actor = PersonRef(dispenser) });
            // The prescription is not in the Bundle: a logical reference by the order number (ORC-2).
            if (m.OrderId is { } prescription)
                dispense.AuthorizingPrescription.Add(new F.ResourceReference { Type = "MedicationRequest", Identifier = Identifier(prescription) });
            if (m.DosageText is not null || m.Route is not null)
                dispense.DosageInstruction.Add(new F.Dosage { Text = m.DosageText, Route = Concept(m.Route) });
            return dispense;
        }
        var request = new F.MedicationRequest
        {
            Id = id,
            Status = F.MedicationRequest.MedicationrequestStatus.Active,
            Intent = F.MedicationRequest.MedicationRequestIntent.Order,
            Medication = Concept(m.Drug) ?? new F.CodeableConcept { Text = "unknown" },
            Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
            AuthoredOnElement = DateTime(m.At),
            Requester = m.Prescriber is { } prescriber ? PersonRef(prescriber) : null,
        };
        if (m.OrderId is { } order)
            request.Identifier.Add(Identifier(order));
        if (m.DosageText is not null || m.Route is not null)
            request.DosageInstruction.Add(new F.Dosage { Text = m.DosageText, Route = Concept(m.Route) });
        if (m.Quantity is { } quantity)
            request.DispenseRequest = new F.MedicationRequest.DispenseRequestComponent { Quantity = new F.Quantity { Value = quantity, Unit = m.QuantityUnit } };
        return request;
    }

    private static F.Immunization ToFhir(Immunization i, string id, F.ResourceReference? subject) => new()
    {
        Id = id,
        Status = i.Status switch
        {
            "entered-in-error" => F.Immunization.ImmunizationStatusCodes.EnteredInError,
            "not-done" => F.Immunization.ImmunizationStatusCodes.NotDone,
            _ => F.Immunization.ImmunizationStatusCodes.Completed,
        },
        VaccineCode = Concept(i.Vaccine) ?? new F.CodeableConcept { Text = "unknown" },
        Patient = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
        Occurrence = (F.DataType?)DateTime(i.OccurredAt) ?? new F.FhirString("unknown"),
        LotNumber = i.LotNumber,
        DoseQuantity = i.Dose is { } dose ? new F.Quantity { Value = dose, Unit = i.DoseUnit } : null,
    };

    private static F.Procedure ToFhir(Procedure p, string id, F.ResourceReference? subject) => new()
    {
        Id = id,
        Status = F.EventStatus.Completed,
        Code = Concept(p.Code),
        Subject = subject!, // null only for a stored entry: the dossier API sets the subject when it serves it
        Performed = DateTime(p.PerformedAt),
    };

    private static F.DiagnosticReport.DiagnosticReportStatus ReportStatus(string? status) => status switch
    {
        "registered" => F.DiagnosticReport.DiagnosticReportStatus.Registered,
        "partial" => F.DiagnosticReport.DiagnosticReportStatus.Partial,
        "preliminary" => F.DiagnosticReport.DiagnosticReportStatus.Preliminary,
        "final" => F.DiagnosticReport.DiagnosticReportStatus.Final,
        "amended" => F.DiagnosticReport.DiagnosticReportStatus.Amended,
        "corrected" => F.DiagnosticReport.DiagnosticReportStatus.Corrected,
        "cancelled" => F.DiagnosticReport.DiagnosticReportStatus.Cancelled,
        "entered-in-error" => F.DiagnosticReport.DiagnosticReportStatus.EnteredInError,
        _ => F.DiagnosticReport.DiagnosticReportStatus.Unknown,
    };

    /// <summary>A code as a CodeableConcept: a coding when there is a code, the display as text otherwise.</summary>
    public static F.CodeableConcept? Concept(Code? code)
    {
        if (code is null)
            return null;
        if (code.Value.Length == 0)
            return string.IsNullOrEmpty(code.Display) ? null : new F.CodeableConcept { Text = code.Display };
        return new F.CodeableConcept(CodeSystemUri(code.System), code.Value, code.Display, null);
    }

    /// <summary>A coding system as a URI: URIs as they are, OIDs as `urn:oid:` (LOINC's as http://loinc.org), HL7 names known to FHIR; others dropped.</summary>
    public static string? CodeSystemUri(string? system) => system switch
    {
        null or "" => null,
        "LN" or "LOINC" or "2.16.840.1.113883.6.1" => "http://loinc.org",
        "SCT" or "SNM" or "SNOMED" or "2.16.840.1.113883.6.96" => "http://snomed.info/sct",
        "UCUM" or "ANS+" or "2.16.840.1.113883.6.8" => "http://unitsofmeasure.org",
        "I10" or "ICD10" => "http://hl7.org/fhir/sid/icd-10",
        "I9" or "I9C" or "ICD9" => "http://hl7.org/fhir/sid/icd-9-cm",
        "CVX" => "http://hl7.org/fhir/sid/cvx",
        "2.16.840.1.113883.5.25" => "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        "NDC" => "http://hl7.org/fhir/sid/ndc",
        // OIDs CDA documents use for the same systems (C-CDA, IHE PCC, CI-SIS).
        "2.16.840.1.113883.5.4" => "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "2.16.840.1.113883.5.83" => "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "2.16.840.1.113883.5.112" => "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
        "2.16.840.1.113883.6.88" => "http://www.nlm.nih.gov/research/umls/rxnorm",
        "2.16.840.1.113883.12.292" => "http://hl7.org/fhir/sid/cvx",
        "2.16.840.1.113883.6.12" => "http://www.ama-assn.org/go/cpt",
        "2.16.840.1.113883.6.90" => "http://hl7.org/fhir/sid/icd-10-cm",
        "2.16.840.1.113883.6.3" => "http://hl7.org/fhir/sid/icd-10",
        _ when system.Contains(':', StringComparison.Ordinal) => system,
        _ when Generic.PatientReader.IsOid(system) => "urn:oid:" + system,
        _ when system.Length == 7 && system.StartsWith("HL7", StringComparison.Ordinal) && system[3..].All(char.IsAsciiDigit) => "http://terminology.hl7.org/CodeSystem/v2-" + system[3..],
        _ => null,
    };

    private static F.Identifier Identifier(Identifier id)
    {
        var identifier = new F.Identifier(FhirProjection.PatientSystemUri(id.System), id.Value);
        if (identifier.System is null && id.AssigningAuthority is { } authority)
            identifier.Assigner = new F.ResourceReference { Display = authority };
        return identifier;
    }

    /// <summary>XDS uniqueId as PDSm writes it: `root^extension` → system urn:oid:root, value extension; a bare OID → urn:ietf:rfc:3986.</summary>
    private static F.Identifier MasterIdentifier(Identifier id)
    {
        if (id.System.Length > 0)
            return new F.Identifier(CdaMapper.SystemUri(id.System), id.Value);
        if (Generic.PatientReader.IsOid(id.Value))
            return new F.Identifier("urn:ietf:rfc:3986", "urn:oid:" + id.Value);
        return new F.Identifier { Value = id.Value };
    }

    private static F.ResourceReference PersonRef(Practitioner p) => new()
    {
        Identifier = p.Id is { } id ? Identifier(id) : null,
        Display = p.Family is null && p.Given is null ? null : string.Join(' ', new[] { p.Given, p.Family }.Where(s => !string.IsNullOrEmpty(s))),
    };

    private static F.FhirDateTime? DateTime(PartialDateTime? value) =>
        value is not null && FhirDates.ToDateTime(value) is { } text ? new F.FhirDateTime(text) : null;

    private static DateTimeOffset? Instant(PartialDateTime? value) =>
        value is { Offset: { } offset, Precision: >= DateTimePrecision.Second } ? new DateTimeOffset(value.Value, offset) : null;

    private static string Invariant(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static F.ResourceReference Ref(F.Resource resource) => new("urn:uuid:" + resource.Id);

    private static void Add(F.Bundle bundle, F.Resource resource) => bundle.Entry.Add(Entry(resource));

    private static F.Bundle.EntryComponent Entry(F.Resource resource) => new() { FullUrl = "urn:uuid:" + resource.Id, Resource = resource };
}
