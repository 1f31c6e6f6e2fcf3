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
        // below instead: the gateway writes no local (`#id`) reference at all, so ref-1 holds when none is found.
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
        if (Dmp.Mapping.Fhir.FhirJson.Serialize(resource, pretty: false).Contains("\"reference\":\"#", StringComparison.Ordinal))
            errors.Add("Error ref-1: a local reference (#id): the gateway writes none, check it has its contained resource");
        return errors;
    }
}
