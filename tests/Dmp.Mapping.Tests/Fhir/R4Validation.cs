using System.Text.Json.Nodes;
using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace Dmp.Mapping.Tests.Fhir;

/// <summary>
/// One Firely validator against the base R4 specification (Hl7.Fhir.Specification.Data.R4) plus the project's own
/// StructureDefinitions (docs/fhir, copied beside the tests as fhir-definitions/). Slow to build (it reads the
/// specification): share one per test class as a fixture.
/// </summary>
public sealed class R4Validation
{
    private readonly Validator _validator;

    public R4Validation()
    {
        var definitions = Path.Combine(AppContext.BaseDirectory, "fhir-definitions");
        if (!Directory.EnumerateFiles(definitions, "StructureDefinition-*.json").Any())
            throw new InvalidOperationException($"no StructureDefinition in {definitions}");
        var resolver = new CachedResolver(new SnapshotSource(new MultiResolver(
            ZipSource.CreateValidationSource(),
            new DirectorySource(definitions, new DirectorySourceSettings { IncludeSubDirectories = false }))));
        var settings = new ValidationSettings();
        // ref-1 ("a local reference needs a contained resource") is misread by the validator on references that carry
        // no `reference` (display or identifier only): FirelyTeam/firely-net-sdk issues 2862, 2941, 3571. It is checked
        // below instead (LocalReferenceErrors): every `#id` reference names a resource contained in the resource that holds it.
#pragma warning disable ExperimentalApi // the assertion types are marked experimental; only its key is read
        settings.ExcludeFilters.Add(a => a is InvariantValidator { Key: "ref-1" });
#pragma warning restore ExperimentalApi
        _validator = new Validator(resolver, new LocalTerminologyService(resolver), null, settings);
    }

    /// <summary>The errors (and fatal issues) of a resource, one line each: severity, location, diagnostics.</summary>
    public IReadOnlyList<string> Errors(Resource resource)
    {
        var outcome = _validator.Validate(resource);
        var errors = outcome.Issue
            .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
            .Select(i => $"{i.Severity} {string.Join(",", i.Expression ?? [])}: {i.Details?.Text ?? i.Diagnostics}")
            .ToList();
        LocalReferenceErrors(JsonNode.Parse(Dmp.Mapping.Fhir.FhirJson.Serialize(resource, pretty: false)), null, errors);
        return errors;
    }

    /// <summary>
    /// ref-1 as R4 states it: a reference `#id` needs a resource `id` contained in the resource that holds it; a
    /// contained resource's own references resolve in its container.
    /// </summary>
    private static void LocalReferenceErrors(JsonNode? node, HashSet<string>? scope, List<string> errors, bool containedItem = false)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["resourceType"] is not null && !containedItem)
                    scope = [.. (o["contained"] as JsonArray ?? []).Select(c => c?["id"]?.GetValue<string>()).OfType<string>()];
                if (o["reference"] is JsonValue r && r.TryGetValue<string>(out var reference) && reference.Length > 1 && reference[0] == '#'
                    && scope?.Contains(reference[1..]) != true)
                    errors.Add($"Error ref-1: {reference} names no contained resource");
                foreach (var (key, child) in o.ToList())
                {
                    if (key == "contained" && child is JsonArray items)
                    {
                        foreach (var item in items)
                            LocalReferenceErrors(item, scope, errors, containedItem: true);
                    }
                    else
                        LocalReferenceErrors(child, scope, errors);
                }
                break;
            case JsonArray a:
                foreach (var child in a)
                    LocalReferenceErrors(child, scope, errors);
                break;
        }
    }
}
