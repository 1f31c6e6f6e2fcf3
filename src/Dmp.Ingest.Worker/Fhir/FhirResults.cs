using System.Text;
using System.Xml;
using Dmp.Mapping.Fhir;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Net.Http.Headers;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>The two FHIR formats served.</summary>
public enum FhirFormat { Json, Xml }

/// <summary>
/// FHIR responses: a resource as `application/fhir+json`, or `application/fhir+xml` when the client asks for XML;
/// errors as an OperationOutcome with their status.
/// </summary>
public static class FhirResults
{
    public const string JsonMediaType = "application/fhir+json";
    public const string XmlMediaType = "application/fhir+xml";

    private static readonly BaseFhirXmlSerializer XmlSerializer = new(ModelInfo.ModelInspector);

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
    /// <summary>A refused request body (<see cref="RequestBodies"/>): 400 invalid or required, 413 too long, 415 not supported.</summary>
    public static IResult BodyRefused(int status, string diagnostics) => Outcome(status, status switch
    {
        StatusCodes.Status413PayloadTooLarge => OperationOutcome.IssueType.TooLong,
        StatusCodes.Status415UnsupportedMediaType => OperationOutcome.IssueType.NotSupported,
        _ => OperationOutcome.IssueType.Invalid,
    }, diagnostics);

    public static IResult Information(string diagnostics) => Outcome(StatusCodes.Status200OK, OperationOutcome.IssueType.Informational, diagnostics);

    /// <summary>Null when the client accepts FHIR JSON or XML (see <see cref="Negotiate"/>); else the 406 to answer.</summary>
    public static IResult? RefuseUnservedFormat(HttpRequest request) =>
        Negotiate(request) is null
            ? NotAcceptable(request.Query.TryGetValue("_format", out var format)
                ? $"_format '{format}' is not served: this server answers application/fhir+json and application/fhir+xml"
                : "this server answers application/fhir+json and application/fhir+xml only")
            : null;

    /// <summary>
    /// The format the client asked for: `_format` first (`json`, `xml` or their media types), else the Accept header
    /// (the FHIR format it accepts with the higher quality, JSON on a tie or a wildcard; no header: JSON); null when it
    /// accepts neither.
    /// </summary>
    public static FhirFormat? Negotiate(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Query.TryGetValue("_format", out var format))
        {
            return format.ToString() switch
            {
                "json" or "application/json" or JsonMediaType or "application/fhir+json;fhirVersion=4.0" => FhirFormat.Json,
                "xml" or "text/xml" or "application/xml" or XmlMediaType or "application/fhir+xml;fhirVersion=4.0" => FhirFormat.Xml,
                _ => null,
            };
        }

        var accept = request.GetTypedHeaders().Accept;
        if (accept.Count == 0)
            return FhirFormat.Json;
        var json = accept.Where(AcceptsJson).Select(a => a.Quality ?? 1).DefaultIfEmpty(0).Max();
        var xml = accept.Where(AcceptsXml).Select(a => a.Quality ?? 1).DefaultIfEmpty(0).Max();
        if (json <= 0 && xml <= 0)
            return null;
        return xml > json ? FhirFormat.Xml : FhirFormat.Json;
    }

    private static bool AcceptsJson(MediaTypeHeaderValue value) =>
        value.MediaType.Value is "*/*" or "application/*" or "application/json" or JsonMediaType;

    private static bool AcceptsXml(MediaTypeHeaderValue value) =>
        value.MediaType.Value is "application/xml" or "text/xml" or XmlMediaType;

    /// <summary>FHIR R4 XML (UTF-8, no byte order mark) through Firely's serializer.</summary>
    public static byte[] SerializeXml(Resource resource)
    {
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = new UTF8Encoding(false) }))
            XmlSerializer.Serialize(resource, writer);
        return buffer.ToArray();
    }

    private sealed class ResourceResult(Resource resource, int status) : IResult
    {
        public async System.Threading.Tasks.Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            if (resource.Meta?.VersionId is { } version)
                httpContext.Response.Headers.ETag = $"W/\"{version}\"";
            if (Negotiate(httpContext.Request) == FhirFormat.Xml)
            {
                httpContext.Response.ContentType = XmlMediaType + "; charset=utf-8";
                await httpContext.Response.Body.WriteAsync(SerializeXml(resource), httpContext.RequestAborted);
                return;
            }

            httpContext.Response.ContentType = JsonMediaType + "; charset=utf-8";
            await httpContext.Response.WriteAsync(FhirJson.Serialize(resource, pretty: false), httpContext.RequestAborted);
        }
    }
}
