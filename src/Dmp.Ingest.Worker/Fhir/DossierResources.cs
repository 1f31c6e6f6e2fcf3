using System.Globalization;
using System.Text.Json.Nodes;
using Dmp.Mapping.Fhir;
using Dmp.Mapping.Fhir.Projection;
using Dmp.Model;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using Hl7.Fhir.Serialization;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// The dossier store's rows as FHIR R4 resources: Patient and DocumentReference through Mapping's projections
/// (<see cref="PatientProjection"/>, <see cref="DocumentReferenceProjection"/>) with the API's ids and meta, the stored
/// entries (their JSON with the API's id and subject), and AuditEvent.
/// </summary>
public static class DossierResources
{
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

    /// <summary>
    /// A stored patient through the one Patient projection: the INS, the name in use and the birth name, birth date and
    /// sex. The identity status is not served (the API's Patient never carried the reliability extension).
    /// </summary>
    public static F.Patient Patient(PatientRecord p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var names = new List<PersonName>();
        if (p.Family is not null || p.Given is not null)
            names.Add(new PersonName(p.Family, p.Given?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [], null, null, "L"));
        if (p.BirthName is { } birthName && birthName != p.Family)
            names.Add(new PersonName(birthName, [], null, null, "M"));
        var patient = new Patient
        {
            Ins = p.Ins is { } ins ? new Identifier(p.InsSystem ?? "", ins) : null,
            Names = names,
            BirthDate = p.BirthDate is { Length: >= 4 } birth ? FhirDates.ParseDate(birth.Length > 10 ? birth[..10] : birth) : null,
            Sex = p.Sex,
        };
        var resource = PatientProjection.ToFhir(patient, Id(p.Id));
        resource.Meta = Meta(p.UpdatedAt, null);
        return resource;
    }

    /// <summary>A document's metadata as PDSm shapes it; the content is served at <paramref name="contentUrl"/>.</summary>
    public static F.DocumentReference DocumentReference(DocumentRow d, string contentUrl)
    {
        ArgumentNullException.ThrowIfNull(d);
        var reference = DocumentReferenceProjection.FromStored(new StoredDocument
        {
            Id = Id(d.Id),
            PatientId = Id(d.PatientId),
            UniqueId = d.UniqueId,
            Status = d.Status switch
            {
                DocumentStatuses.Superseded => DocumentStatus.Superseded,
                DocumentStatuses.Deleted => DocumentStatus.Deleted,
                _ => DocumentStatus.Current,
            },
            Type = d.TypeCode is { } type ? new Code(type, d.TypeSystem, d.TypeDisplay) : null,
            Class = d.ClassCode is { } category ? new Code(category, d.ClassSystem, d.ClassDisplay) : null,
            Title = d.Title,
            Date = SearchParameters.StoredInstant(d.SortKey),
            AuthorRpps = d.AuthorRpps,
            AuthorFamily = d.AuthorFamily,
            AuthorGiven = d.AuthorGiven,
            AuthorOrganisation = d.AuthorOrg,
            Confidentiality = d.Confidentiality,
            Masked = d.Masked,
            HiddenFromPatient = d.HiddenFromPatient,
            MimeType = d.MimeType,
            Language = d.Language,
            Size = d.Size,
            Sha1 = d.Sha1 is { } sha1 ? TryBase64(sha1) : null,
            CreatedAt = SearchParameters.StoredInstant(d.CreatedAt),
            FormatCode = d.FormatCode,
            ServiceStart = SearchParameters.StoredInstant(d.ServiceStart),
            ServiceStop = SearchParameters.StoredInstant(d.ServiceStop),
            FacilityType = d.Facility,
            PracticeSetting = d.Setting,
            EventCode = d.EventCode,
            ReplacesId = d.ReplacesId is { } replaces ? Id(replaces) : null,
            ContentUrl = contentUrl,
        });
        reference.Meta = Meta(d.UpdatedAt, VersionOf(d.UpdatedAt));
        return reference;
    }

    /// <summary>
    /// A stored entry as its FHIR resource, with the patient as subject and its public id (random, given when it was
    /// first stored; the stored JSON's references to other entries carry theirs, so a report's results resolve by
    /// <c>GET /fhir/Observation/{id}</c>); null when its JSON cannot be read as a resource at all.
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
        // Always the public id: the row id and any id the mapping derived from the content stay inside the store.
        json["id"] = EntryId(e);
        json[subjectElement] = new JsonObject { ["reference"] = "Patient/" + Id(e.PatientId) };
        json["resourceType"] ??= e.Kind;
        // Rows written before the extensions had canonical URLs (and allergies without a clinical status) are served as now.
        DmpFhir.UpgradeStored(json);
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
                var action when AuditActions.IsRead(action) => F.AuditEvent.AuditEventAction.R,
                AuditActions.Delete => F.AuditEvent.AuditEventAction.D,
                AuditActions.Deposit => F.AuditEvent.AuditEventAction.C,
                _ => F.AuditEvent.AuditEventAction.U,
            },
            Outcome = row.Outcome == AuditOutcomes.Success ? F.AuditEvent.AuditEventOutcome.N0 : F.AuditEvent.AuditEventOutcome.N4,
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
            AuditAgentKinds.Patient when row.AgentId is { } ins => new F.ResourceReference { Identifier = new F.Identifier(null, ins), Display = AuditAgentKinds.Patient },
            AuditAgentKinds.Professional when row.AgentId is { } rpps =>
                new F.ResourceReference { Identifier = new F.Identifier(Rpps.SystemUri, Rpps.ToExtension(rpps)), Display = AuditAgentKinds.Professional },
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
    public static F.Identifier UniqueIdentifier(string uniqueId) => DocumentReferenceProjection.StoredMasterIdentifier(uniqueId);

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

    /// <summary>The id an entry is served by: its public id.</summary>
    public static string EntryId(EntryRow e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.PublicId;
    }

    /// <summary>meta.versionId: changes whenever the row is updated (mask, status …).</summary>
    private static string? VersionOf(string updatedAt) =>
        SearchParameters.StoredInstant(updatedAt) is { } at ? at.UtcTicks.ToString(CultureInfo.InvariantCulture) : null;

    private static F.Meta? Meta(string updatedAt, string? version)
    {
        var at = SearchParameters.StoredInstant(updatedAt);
        return at is null && version is null ? null : new F.Meta { LastUpdated = at, VersionId = version };
    }

    private static byte[]? TryBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }
}
