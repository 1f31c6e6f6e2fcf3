using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>`GET /fhir/metadata`: what this server really supports, and nothing more.</summary>
public static class CapabilityStatementFactory
{
    public static F.CapabilityStatement Create(string baseUrl)
    {
        var rest = new F.CapabilityStatement.RestComponent
        {
            Mode = F.CapabilityStatement.RestfulCapabilityMode.Server,
            Documentation = "The DMP dossier of a patient, for the patient and the professionals the access rules allow; " +
                            "every access is audited. Emergency access: header X-Break-Glass-Reason.",
            Security = new F.CapabilityStatement.SecurityComponent
            {
                Description = "JWT bearer tokens: role patient (claim ins), professional (claims rpps, optional org); operators have no FHIR access.",
            },
        };

        rest.Resource.Add(Resource("Patient", [F.CapabilityStatement.TypeRestfulInteraction.Read, F.CapabilityStatement.TypeRestfulInteraction.SearchType],
            [("identifier", F.SearchParamType.Token)],
            [("recent-exams", "Patient/{id}/$recent-exams?code=&days= : latest lab and imaging results"),
             ("close", "POST: the patient closes their dossier"), ("reopen", "POST: the patient reopens it"),
             ("authorize", "POST Parameters rpps [, treating=true]: authorise a professional / name the treating physician"),
             ("revoke", "POST Parameters rpps [, treating=true]"), ("oppose-emergency", "POST"), ("allow-emergency", "POST")]));

        var documents = Resource("DocumentReference",
            [F.CapabilityStatement.TypeRestfulInteraction.Read, F.CapabilityStatement.TypeRestfulInteraction.SearchType,
             F.CapabilityStatement.TypeRestfulInteraction.Patch, F.CapabilityStatement.TypeRestfulInteraction.Delete],
            [("patient", F.SearchParamType.Reference), ("patient.identifier", F.SearchParamType.Token), ("status", F.SearchParamType.Token),
             ("type", F.SearchParamType.Token), ("category", F.SearchParamType.Token), ("date", F.SearchParamType.Date),
             ("period", F.SearchParamType.Date), ("creation", F.SearchParamType.Date), ("author.given", F.SearchParamType.String),
             ("author.family", F.SearchParamType.String), ("facility", F.SearchParamType.Token), ("setting", F.SearchParamType.Token),
             ("event", F.SearchParamType.Token), ("security-label", F.SearchParamType.Token), ("format", F.SearchParamType.Token),
             ("related", F.SearchParamType.Reference), ("identifier", F.SearchParamType.Token)],
            [("mask", "POST: the patient masks the document from professionals"), ("unmask", "POST"),
             ("unhide", "POST: an authorised professional shows a document hidden from the patient")]);
        rest.Resource.Add(documents);

        rest.Resource.Add(Resource("Binary", [F.CapabilityStatement.TypeRestfulInteraction.Read], [], []));
        foreach (var kind in DossierResources.EntryKinds)
        {
            rest.Resource.Add(Resource(kind, [F.CapabilityStatement.TypeRestfulInteraction.Read, F.CapabilityStatement.TypeRestfulInteraction.SearchType],
                [("patient", F.SearchParamType.Reference), ("patient.identifier", F.SearchParamType.Token),
                 ("code", F.SearchParamType.Token), ("date", F.SearchParamType.Date)], []));
        }

        rest.Resource.Add(Resource("AuditEvent", [F.CapabilityStatement.TypeRestfulInteraction.SearchType],
            [("patient", F.SearchParamType.Reference), ("patient.identifier", F.SearchParamType.Token)], []));

        return new F.CapabilityStatement
        {
            Status = F.PublicationStatus.Active,
            Date = "2026-11-30",
            Kind = F.CapabilityStatementKind.Instance,
            Software = new F.CapabilityStatement.SoftwareComponent { Name = "dmp-ingest" },
            Implementation = new F.CapabilityStatement.ImplementationComponent { Description = "dmp-ingest dossier API", Url = baseUrl },
            FhirVersion = F.FHIRVersion.N4_0_1,
            Format = ["application/fhir+json", "application/fhir+xml"],
            PatchFormat = ["application/json-patch+json"],
            Rest = [rest],
        };
    }

    private static F.CapabilityStatement.ResourceComponent Resource(
        string type, F.CapabilityStatement.TypeRestfulInteraction[] interactions, (string Name, F.SearchParamType Type)[] parameters,
        (string Name, string Documentation)[] operations)
    {
        var resource = new F.CapabilityStatement.ResourceComponent { Type = type };
        foreach (var interaction in interactions)
            resource.Interaction.Add(new F.CapabilityStatement.ResourceInteractionComponent { Code = interaction });
        foreach (var (name, kind) in parameters)
            resource.SearchParam.Add(new F.CapabilityStatement.SearchParamComponent { Name = name, Type = kind });
        if (parameters.Length > 0)
        {
            resource.SearchParam.Add(new F.CapabilityStatement.SearchParamComponent { Name = "_count", Type = F.SearchParamType.Number });
            resource.SearchParam.Add(new F.CapabilityStatement.SearchParamComponent { Name = "_sort", Type = F.SearchParamType.String, Documentation = "-date (default) or date" });
        }

        foreach (var (name, documentation) in operations)
        {
            resource.Operation.Add(new F.CapabilityStatement.OperationComponent
            {
                Name = name,
                Definition = "urn:dmp-ingest:operation:" + name,
                Documentation = documentation,
            });
        }

        return resource;
    }
}
