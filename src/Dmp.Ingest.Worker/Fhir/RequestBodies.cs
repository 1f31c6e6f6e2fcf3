using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// What a route takes as its request body, as endpoint metadata: the media types it reads (none: it takes no body),
/// whether a body is required, and the most bytes it reads. <see cref="RequestBodies.Filter"/> enforces it before the
/// handler runs, so every route that changes something declares one (a test sweeps them all from the endpoint list).
/// </summary>
public sealed record BodyContract(IReadOnlyList<string> MediaTypes, bool Required, long MaxBytes)
{
    /// <summary>The default cap: a Parameters resource or a JSON Patch is a few hundred bytes.</summary>
    public const long DefaultMaxBytes = 64 * 1024;

    /// <summary>A route that takes no body (DELETE, a replay): any body is refused with 415.</summary>
    public static readonly BodyContract None = new([], false, 0);

    /// <summary>A FHIR resource in JSON (`application/fhir+json` or `application/json`).</summary>
    public static BodyContract FhirJson(bool required) => new([FhirResults.JsonMediaType, "application/json"], required, DefaultMaxBytes);

    public bool TakesBody => MediaTypes.Count > 0;
}

/// <summary>The answer to a refused body, in the API's error format (OperationOutcome under /fhir, problem+json under /api).</summary>
public delegate IResult BodyRefusal(int status, string detail);

/// <summary>
/// Request bodies, one rule for every route: a body in a media type the route does not read is 415, a body over its
/// cap is 413 (from Content-Length before anything is read, or from Kestrel's limit while a chunked body is read),
/// a missing required body is 400 — each with a body in the API's error format, never a bare status or a 500.
/// </summary>
public static class RequestBodies
{
    /// <summary>The deepest JSON a body may nest (a Parameters resource nests 3 or 4 levels).</summary>
    public const int MaxDepth = 32;

    public static TBuilder WithBody<TBuilder>(this TBuilder builder, BodyContract contract) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(contract);

    /// <summary>The request's body read as JSON (at most <see cref="MaxDepth"/> deep), or null when it is not JSON.</summary>
    public static async Task<JsonElement?> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = MaxDepth }, cancellationToken);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether the request carries a body: a Content-Length above 0, or a chunked body.</summary>
    public static bool HasBody(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength is { } length)
            return length > 0;
        return request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
    }

    /// <summary>The endpoint filter enforcing each route's <see cref="BodyContract"/>; refusals are answered by <paramref name="refuse"/>.</summary>
    public static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> Filter(BodyRefusal refuse) =>
        async (context, next) =>
        {
            var http = context.HttpContext;
            var contract = http.GetEndpoint()?.Metadata.GetMetadata<BodyContract>();
            if (contract is null)
                return await next(context);
            var request = http.Request;
            var route = $"{request.Method} {request.Path}";
            if (!HasBody(request))
            {
                if (contract.Required)
                    return refuse(StatusCodes.Status400BadRequest, $"{route} needs a body ({string.Join(" or ", contract.MediaTypes)})");
                return await next(context);
            }

            if (!contract.TakesBody)
                return refuse(StatusCodes.Status415UnsupportedMediaType, $"{route} takes no body");
            if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ||
                !contract.MediaTypes.Contains(type.MediaType.Value ?? "", StringComparer.OrdinalIgnoreCase))
            {
                return refuse(StatusCodes.Status415UnsupportedMediaType,
                    $"{route} reads {string.Join(" or ", contract.MediaTypes)}, not {(string.IsNullOrEmpty(request.ContentType) ? "a body without Content-Type" : "this Content-Type")}");
            }

            if (request.ContentLength > contract.MaxBytes)
                return refuse(StatusCodes.Status413PayloadTooLarge, $"{route} reads at most {contract.MaxBytes} bytes");
            // A chunked body says no length: Kestrel stops it at the route's cap while the handler reads it.
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = contract.MaxBytes;
            try
            {
                return await next(context);
            }
            catch (BadHttpRequestException e)
            {
                // Kestrel's refusal of the body while it is read (too large, cut short): answered, not left unhandled.
                return refuse(e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? $"{route} reads at most {contract.MaxBytes} bytes"
                    : $"the body of {route} could not be read");
            }
        };

    /// <summary>
    /// The request body as a JSON object whose `resourceType` is <paramref name="resourceType"/>: null with no error
    /// when there is no body; else the object, or why it is refused (not JSON, too deep, not an object, another resource).
    /// </summary>
    public static async Task<(JsonObject? Resource, string? Error)> ReadResourceAsync(HttpRequest request, string resourceType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!HasBody(request))
            return (null, null);
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth }, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return (null, $"the body is not a JSON {resourceType} resource (not well-formed JSON, or nested deeper than {MaxDepth})");
        }

        if (node is not JsonObject resource)
            return (null, $"the body must be a {resourceType} resource (a JSON object), not a JSON {node?.GetValueKind().ToString().ToLowerInvariant() ?? "null"}");
        var declared = resource["resourceType"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        if (declared != resourceType)
            return (null, declared is null ? $"the body has no resourceType: a {resourceType} resource is expected" : $"the body is a {declared}: a {resourceType} resource is expected");
        return (resource, null);
    }
}
