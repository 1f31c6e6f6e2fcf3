using Dmp.Mapping.Fhir;
using Hl7.Fhir.Model;
using Microsoft.Net.Http.Headers;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>FHIR responses: a resource as `application/fhir+json`, errors as an OperationOutcome with their status.</summary>
public static class FhirResults
{
    public const string JsonMediaType = "application/fhir+json";

    public static IResult Resource(Resource resource, int status = StatusCodes.Status200OK) => new ResourceResult(resource, status);

    public static IResult Outcome(int status, OperationOutcome.IssueType code, string diagnostics) =>
        new ResourceResult(new OperationOutcome
        {
            Issue =
            [
                new OperationOutcome.IssueComponent
                {
                    Severity = status >= 400 ? OperationOutcome.IssueSeverity.Error : OperationOutcome.IssueSeverity.Information,
                    Code = code,
                    Diagnostics = diagnostics,
                },
            ],
        }, status);

    public static IResult BadRequest(string diagnostics) => Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid, diagnostics);
    public static IResult Forbidden(string diagnostics) => Outcome(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, diagnostics);
    public static IResult NotFound(string diagnostics) => Outcome(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound, diagnostics);
    public static IResult NotAcceptable(string diagnostics) => Outcome(StatusCodes.Status406NotAcceptable, OperationOutcome.IssueType.NotSupported, diagnostics);
    public static IResult Information(string diagnostics) => Outcome(StatusCodes.Status200OK, OperationOutcome.IssueType.Informational, diagnostics);

    /// <summary>
    /// Null when the client accepts FHIR JSON (`_format` json, or an Accept header naming it, `application/json`
    /// or a wildcard); else the 406 to answer. XML is not served.
    /// </summary>
    public static IResult? NegotiateJson(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Query.TryGetValue("_format", out var format))
        {
            return format.ToString() is "json" or "application/json" or JsonMediaType or "application/fhir+json;fhirVersion=4.0"
                ? null
                : NotAcceptable($"_format '{format}' is not served: this server answers application/fhir+json only");
        }

        var accept = request.GetTypedHeaders().Accept;
        if (accept.Count == 0 || accept.Any(a => a.Quality != 0 && AcceptsJson(a)))
            return null;
        return NotAcceptable("this server answers application/fhir+json only");
    }

    private static bool AcceptsJson(MediaTypeHeaderValue value) =>
        value.MediaType.Value is "*/*" or "application/*" or "application/json" or JsonMediaType;

    private sealed class ResourceResult(Resource resource, int status) : IResult
    {
        public async System.Threading.Tasks.Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = JsonMediaType + "; charset=utf-8";
            if (resource.Meta?.VersionId is { } version)
                httpContext.Response.Headers.ETag = $"W/\"{version}\"";
            await httpContext.Response.WriteAsync(FhirJson.Serialize(resource, pretty: false), httpContext.RequestAborted);
        }
    }
}
