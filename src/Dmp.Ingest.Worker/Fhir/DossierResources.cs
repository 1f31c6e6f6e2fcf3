using System.Globalization;
using System.Text.Json.Nodes;
using Dmp.Mapping.Fhir;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using Hl7.Fhir.Serialization;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// The dossier store's rows as FHIR R4 resources: DocumentReference shaped as ANS's PDSm (IHE MHD for the DMP),
/// Patient, the stored entries (their JSON with the API's id and subject), and AuditEvent.
/// </summary>
public static class DossierResources
{
    public const string RppsOid = "1.2.250.1.71.4.2.1";
    public const string OrganisationOid = "1.2.250.1.71.4.2.2";
    public const string ConfidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
    /// <summary>The DMP's visibility codes (MASQUE_PS, INVISIBLE_PATIENT) of value set JDV_J08.</summary>
    public const string VisibilitySystem = "urn:oid:1.2.250.1.213.1.1.4.13";
    public const string ActReasonSystem = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
    public const string AuditActionSystem = "urn:dmp-ingest:audit-action";

    private static readonly FhirJsonDeserializer Lenient = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    /// <summary>The kinds of `entry` rows, each served as the FHIR resource type of the same name.</summary>
    public static readonly IReadOnlyList<string> EntryKinds =
    [
        "AllergyIntolerance", "Observation", "DiagnosticReport", "MedicationRequest", "MedicationDispense", "MedicationAdministration",
        "MedicationStatement", "Condition", "Immunization", "Procedure", "Encounter",
    ];

    /// <summary>Entry kinds whose subject element is called `patient` in R4.</summary>
    private static readonly HashSet<string> PatientElementKinds = ["AllergyIntolerance", "Immunization"];

    public static F.Patient Patient(PatientRecord p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var patient = new F.Patient { Id = Id(p.Id), Meta = Meta(p.UpdatedAt, null) };
        if (p.Ins is { } ins)
        {
            patient.Identifier.Add(new F.Identifier(p.InsSystem is { } oid ? "urn:oid:" + oid : null, ins)
            {
                Use = F.Identifier.IdentifierUse.Official,
                Type = new F.CodeableConcept("https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identifier-type", "INS-NIR"),
            });
        }

        if (p.Family is not null || p.Given is not null)
        {
            patient.Name.Add(new F.HumanName
            {
                Use = F.HumanName.NameUse.Official,
                Family = p.Family,
                Given = p.Given?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [],
            });
        }

        if (p.BirthName is { } birthName && birthName != p.Family)
            patient.Name.Add(new F.HumanName { Use = F.HumanName.NameUse.Maiden, Family = birthName });
        if (p.BirthDate is { Length: >= 4 } birth)
            patient.BirthDateElement = new F.Date(birth.Length > 10 ? birth[..10] : birth);
        patient.Gender = p.Sex switch
        {
            "M" => F.AdministrativeGender.Male,
            "F" => F.AdministrativeGender.Female,
            "U" => F.AdministrativeGender.Unknown,
            "O" or "A" or "N" => F.AdministrativeGender.Other,
            _ => null,
        };
        return patient;
    }

    /// <summary>A document's metadata as PDSm shapes it; the content is served at <paramref name="contentUrl"/>.</summary>
    public static F.DocumentReference DocumentReference(DocumentRow d, string contentUrl)
    {
        ArgumentNullException.ThrowIfNull(d);
        var reference = new F.DocumentReference
        {
            Id = Id(d.Id),
            Meta = Meta(d.UpdatedAt, VersionOf(d.UpdatedAt)),
            MasterIdentifier = UniqueIdentifier(d.UniqueId),
            Status = d.Status switch
            {
                DocumentStatuses.Superseded => F.DocumentReferenceStatus.Superseded,
                DocumentStatuses.Deleted => F.DocumentReferenceStatus.EnteredInError,
                _ => F.DocumentReferenceStatus.Current,
            },
            Subject = new F.ResourceReference("Patient/" + Id(d.PatientId)),
            Description = d.Title,
        };
        if (d.TypeCode is { } type)
            reference.Type = new F.CodeableConcept(SystemUri(d.TypeSystem), type, d.TypeDisplay, null);
        if (d.ClassCode is { } category)
            reference.Category.Add(new F.CodeableConcept(SystemUri(d.ClassSystem), category, d.ClassDisplay, null));
        if (SearchParameters.StoredInstant(d.SortKey) is { } date)
            reference.Date = date;

        if (d.AuthorRpps is not null || d.AuthorFamily is not null || d.AuthorGiven is not null)
        {
            var author = new F.Practitioner { Id = "author" };
            if (d.AuthorRpps is { } rpps)
                author.Identifier.Add(new F.Identifier("urn:oid:" + RppsOid, "8" + rpps));
            if (d.AuthorFamily is not null || d.AuthorGiven is not null)
                author.Name.Add(new F.HumanName { Family = d.AuthorFamily, Given = d.AuthorGiven?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [] });
            reference.Contained.Add(author);
            reference.Author.Add(new F.ResourceReference("#author"));
        }

        // A structure id in digits is the national one (OID 1.2.250.1.71.4.2.2); a facility's own id (MSH-4 text) has no known system.
        if (d.AuthorOrg is { } organisation)
        {
            reference.Custodian = new F.ResourceReference
            {
                Identifier = new F.Identifier(organisation.All(char.IsAsciiDigit) ? "urn:oid:" + OrganisationOid : null, organisation),
            };
        }

        if (d.Confidentiality is { } confidentiality)
            reference.SecurityLabel.Add(new F.CodeableConcept(ConfidentialitySystem, confidentiality));
        if (d.Masked)
            reference.SecurityLabel.Add(new F.CodeableConcept(VisibilitySystem, DocumentFilter.MaskedLabel, "Masqué aux professionnels de santé", null));
        if (d.HiddenFromPatient)
            reference.SecurityLabel.Add(new F.CodeableConcept(VisibilitySystem, DocumentFilter.HiddenFromPatientLabel, "Non visible par le patient", null));

        var attachment = new F.Attachment { ContentType = d.MimeType, Language = d.Language, Url = contentUrl, Title = d.Title };
        if (d.Size is { } size and >= 0 and <= int.MaxValue)
            attachment.SizeElement = new F.UnsignedInt((int)size);
        if (d.Sha1 is { } sha1 && TryBase64(sha1) is { } hash)
            attachment.Hash = hash;
        if (SearchParameters.StoredInstant(d.CreatedAt) is { } created)
            attachment.CreationElement = new F.FhirDateTime(created);
        var content = new F.DocumentReference.ContentComponent { Attachment = attachment };
        if (d.FormatCode is { } format)
            content.Format = new F.Coding(null, format);
        reference.Content.Add(content);

        var context = new F.DocumentReference.ContextComponent();
        var start = SearchParameters.StoredInstant(d.ServiceStart);
        var stop = SearchParameters.StoredInstant(d.ServiceStop);
        if (start is not null || stop is not null)
            context.Period = new F.Period(start is { } s ? new F.FhirDateTime(s) : null, stop is { } e ? new F.FhirDateTime(e) : null);
        if (d.Facility is { } facility)
            context.FacilityType = new F.CodeableConcept(null, facility);
        if (d.Setting is { } setting)
            context.PracticeSetting = new F.CodeableConcept(null, setting);
        if (d.EventCode is { } eventCode)
            context.Event.Add(new F.CodeableConcept(null, eventCode));
        if (context.Period is not null || context.FacilityType is not null || context.PracticeSetting is not null || context.Event.Count > 0)
            reference.Context = context;

        if (d.ReplacesId is { } replaces)
        {
            reference.RelatesTo.Add(new F.DocumentReference.RelatesToComponent
            {
                Code = F.DocumentRelationshipType.Replaces,
                Target = new F.ResourceReference("DocumentReference/" + Id(replaces)),
            });
        }

        return reference;
    }

    /// <summary>
    /// A stored entry as its FHIR resource, with the patient as subject and its stored id (derived from its
    /// natural key, so a stored DiagnosticReport's results point at their Observations), else the entry's;
    /// null when its JSON cannot be read as a resource at all.
    /// </summary>
    public static F.Resource? Entry(EntryRow e)
    {
        ArgumentNullException.ThrowIfNull(e);
        JsonObject json;
        try
        {
            json = JsonNode.Parse(e.Resource) as JsonObject ?? throw new FormatException("not a JSON object");
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException)
        {
            return null;
        }

        var subjectElement = PatientElementKinds.Contains(e.Kind) ? "patient" : "subject";
        json.Remove("patient");
        json.Remove("subject");
        if (json["id"] is not JsonValue)
            json["id"] = Id(e.Id);
        json[subjectElement] = new JsonObject { ["reference"] = "Patient/" + Id(e.PatientId) };
        json["resourceType"] ??= e.Kind;
        F.Resource? resource;
        try
        {
            resource = Lenient.Deserialize<F.Resource>(json.ToJsonString());
        }
        catch (DeserializationFailedException ex)
        {
            resource = ex.PartialResult as F.Resource;
        }

        if (resource is null)
            return null;
        resource.Meta ??= new F.Meta();
        if (SearchParameters.StoredInstant(e.UpdatedAt) is { } updated)
            resource.Meta.LastUpdated = updated;
        return resource;
    }

    /// <summary>An audit event as the patient reads it in their trail.</summary>
    public static F.AuditEvent AuditEvent(AuditEventRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var audit = new F.AuditEvent
        {
            Id = Id(row.Id),
            Type = new F.Coding("http://dicom.nema.org/resources/ontology/DCM", "110110", "Patient Record"),
            Subtype = [new F.Coding(AuditActionSystem, row.Action)],
            Action = row.Action switch
            {
                "read" or "search" or "retrieve" or "raw-read" => F.AuditEvent.AuditEventAction.R,
                "delete" => F.AuditEvent.AuditEventAction.D,
                "deposit" => F.AuditEvent.AuditEventAction.C,
                _ => F.AuditEvent.AuditEventAction.U,
            },
            Outcome = row.Outcome == "success" ? F.AuditEvent.AuditEventOutcome.N0 : F.AuditEvent.AuditEventOutcome.N4,
            OutcomeDesc = row.Detail is null ? row.Outcome : row.Outcome + ": " + row.Detail,
            Source = new F.AuditEvent.SourceComponent { Observer = new F.ResourceReference { Display = "dmp-ingest" } },
        };
        if (SearchParameters.StoredInstant(row.At) is { } at)
            audit.Recorded = at;

        var purpose = row.PurposeOfUse is { } code
            ? new F.CodeableConcept(ActReasonSystem, code, code == DossierAccess.BreakGlass ? "break the glass" : null, row.Reason)
            : row.Reason is { } reason ? new F.CodeableConcept { Text = reason } : null;
        if (purpose is not null)
            audit.PurposeOfEvent.Add(purpose);

        var agent = new F.AuditEvent.AgentComponent
        {
            Type = new F.CodeableConcept(null, row.AgentKind, row.AgentKind, null),
            Requestor = true,
        };
        if (row.AgentRole is { } role)
            agent.Role.Add(new F.CodeableConcept { Text = role });
        agent.Who = row.AgentKind switch
        {
            "patient" when row.AgentId is { } ins => new F.ResourceReference { Identifier = new F.Identifier(null, ins), Display = "patient" },
            "professional" when row.AgentId is { } rpps => new F.ResourceReference { Identifier = new F.Identifier("urn:oid:" + RppsOid, "8" + rpps), Display = "professional" },
            _ => new F.ResourceReference { Display = row.AgentKind },
        };
        if (purpose is not null)
            agent.PurposeOfUse.Add(purpose);
        audit.Agent.Add(agent);

        if (row.EntityType is not null || row.PatientId is not null)
        {
            var entity = new F.AuditEvent.EntityComponent
            {
                What = row.EntityType is { } entityType
                    ? new F.ResourceReference(row.EntityId is { } entityId ? entityType + "/" + entityId : entityType)
                    : new F.ResourceReference("Patient/" + Id(row.PatientId!.Value)),
                Description = row.Detail,
            };
            audit.Entity.Add(entity);
        }

        return audit;
    }

    /// <summary>The document's uniqueId (`root` or `root^extension`) as masterIdentifier.</summary>
    public static F.Identifier UniqueIdentifier(string uniqueId)
    {
        ArgumentNullException.ThrowIfNull(uniqueId);
        var caret = uniqueId.IndexOf('^', StringComparison.Ordinal);
        if (caret > 0)
            return new F.Identifier("urn:oid:" + uniqueId[..caret], uniqueId[(caret + 1)..]);
        // Only an OID becomes urn:oid:. A URI kept as such (a CDA's UUID id is stored `urn:uuid:…`) stays itself, and an id that
        // is neither (CI-SIS 2.0 senders write `…120456789.A71024000081` in TXA-12) is served as given: `urn:oid:` would be false.
        if (uniqueId.StartsWith("urn:", StringComparison.OrdinalIgnoreCase))
            return new F.Identifier("urn:ietf:rfc:3986", uniqueId);
        return IsOid(uniqueId)
            ? new F.Identifier("urn:ietf:rfc:3986", "urn:oid:" + uniqueId)
            : new F.Identifier(null, uniqueId);
    }

    /// <summary>Digits in two or more dot-separated arcs, none empty (as the mapping reads OIDs: leniently about leading zeros).</summary>
    private static bool IsOid(string value)
    {
        var arcs = value.Split('.');
        return arcs.Length >= 2 && arcs.All(a => a.Length > 0 && a.All(char.IsAsciiDigit));
    }

    /// <summary>An identifier search value (`urn:oid:<root>|<extension>`, `|urn:oid:<root>` or a bare value) as the uniqueId a document row stores.</summary>
    public static CodeMatch UniqueIdMatch(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var bar = token.IndexOf('|', StringComparison.Ordinal);
        var system = bar > 0 ? token[..bar] : null;
        var value = bar >= 0 ? token[(bar + 1)..] : token;
        if (value.StartsWith("urn:oid:", StringComparison.Ordinal))
            value = value["urn:oid:".Length..];
        return system is not null && system.StartsWith("urn:oid:", StringComparison.Ordinal)
            ? new CodeMatch(system["urn:oid:".Length..] + "^" + value)
            : new CodeMatch(value);
    }

    public static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    /// <summary>meta.versionId: changes whenever the row is updated (mask, status …).</summary>
    private static string? VersionOf(string updatedAt) =>
        SearchParameters.StoredInstant(updatedAt) is { } at ? at.UtcTicks.ToString(CultureInfo.InvariantCulture) : null;

    private static F.Meta? Meta(string updatedAt, string? version)
    {
        var at = SearchParameters.StoredInstant(updatedAt);
        return at is null && version is null ? null : new F.Meta { LastUpdated = at, VersionId = version };
    }

    private static string? SystemUri(string? system) =>
        system is null ? null : MessageBundle.CodeSystemUri(system) ?? (system.Contains(':', StringComparison.Ordinal) ? system : "urn:oid:" + system);

    private static byte[]? TryBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }
}
