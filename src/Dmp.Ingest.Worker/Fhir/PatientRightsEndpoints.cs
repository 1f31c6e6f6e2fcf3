using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dmp.Mapping.Fhir;
using Dmp.Model;
using Dmp.Store.Audit;
using Dmp.Store.Dossier;
using F = Hl7.Fhir.Model;

namespace Dmp.Ingest.Worker.Fhir;

/// <summary>
/// The patient's rights over their own dossier — mask / unmask (operations or a JSON PATCH of securityLabel),
/// delete, close / reopen, authorise / revoke professionals and name the treating physician, oppose / allow
/// emergency access — and a professional's $unhide after the announcement consultation. Each change commits
/// with its audit event (<see cref="DossierRights"/>); a refusal is audited before it is answered.
/// </summary>
public static class PatientRightsEndpoints
{
    private const string JsonPatchMediaType = "application/json-patch+json";

    public static void Map(RouteGroupBuilder fhir)
    {
        fhir.MapPost("/DocumentReference/{id}/{operation}", DocumentOperationAsync).WithBody(BodyContract.FhirJson(required: false));
        fhir.MapMethods("/DocumentReference/{id}", ["PATCH"], PatchDocumentAsync)
            .WithBody(new BodyContract([JsonPatchMediaType], Required: true, BodyContract.DefaultMaxBytes));
        fhir.MapDelete("/DocumentReference/{id}", DeleteDocumentAsync).WithBody(BodyContract.None);
        fhir.MapPost("/Patient/{id}/{operation}", PatientOperationAsync).WithBody(BodyContract.FhirJson(required: false));
    }

    private static async Task<IResult> DocumentOperationAsync(
        string id, string operation, HttpContext http, DossierGate gate, DossierRights rights, CancellationToken ct)
    {
        var action = operation switch
        {
            "$mask" => AuditActions.Mask,
            "$unmask" => AuditActions.Unmask,
            "$unhide" => AuditActions.Unhide,
            _ => null,
        };
        if (action is null)
            return FhirResults.NotFound($"POST DocumentReference/{id}/{operation} is not supported ($mask, $unmask, $unhide)");
        return await ChangeDocumentAsync(id, action, http, gate, rights, ct);
    }

    private static Task<IResult> DeleteDocumentAsync(string id, HttpContext http, DossierGate gate, DossierRights rights, CancellationToken ct) =>
        ChangeDocumentAsync(id, AuditActions.Delete, http, gate, rights, ct);

    /// <summary>A JSON Patch (RFC 6902) of securityLabel (adding or removing MASQUE_PS), or of status to entered-in-error (a delete).</summary>
    private static Task<IResult> PatchDocumentAsync(string id, HttpContext http, DossierGate gate, DossierRights rights, CancellationToken ct) =>
        ChangeDocumentAsync(id, AuditActions.Patch, http, gate, rights, ct);

    /// <summary>
    /// A change to one document: found as a read by id finds it (absent and not visible answer the same 404), allowed
    /// to this caller, then its body read — a JSON Patch for PATCH, else nothing or a Parameters resource. A body
    /// refused once the dossier is known is audited there with outcome `invalid`.
    /// </summary>
    private static async Task<IResult> ChangeDocumentAsync(
        string id, string action, HttpContext http, DossierGate gate, DossierRights rights, CancellationToken ct)
    {
        var (document, failure) = await DocumentEndpoints.FindVisibleAsync(id, "DocumentReference", http, gate, action, ct);
        if (document is null)
            return failure!;
        var (visible, scope) = document.Value;
        var documentId = visible.Id;

        if (DocumentRightRefusal(scope, action) is { } who)
            return await gate.AuditedAsync(scope.Audit(action, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Denied, who), FhirResults.Forbidden(who), ct);

        JsonArray? patch = null;
        string? bodyError;
        if (action == AuditActions.Patch)
            (patch, bodyError) = await ReadPatchAsync(http.Request, ct);
        else if (action == AuditActions.Delete)
            bodyError = null;
        else
            bodyError = NoParameters(await RequestBodies.ReadResourceAsync(http.Request, "Parameters", ct), action);
        if (bodyError is not null)
        {
            return await gate.AuditedAsync(scope.Audit(action, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Invalid, bodyError),
                FhirResults.BadRequest(bodyError), ct);
        }

        if (patch is not null)
        {
            var contentUrl = DocumentEndpoints.ContentUrl(SearchBundles.BaseUrl(http.Request), visible.Id);
            var (patchedAction, error) = InterpretPatch(DossierResources.DocumentReference(visible, contentUrl), patch);
            if (error is not null)
            {
                return await gate.AuditedAsync(scope.Audit(AuditActions.Patch, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Invalid, error),
                    FhirResults.Outcome(StatusCodes.Status422UnprocessableEntity, F.OperationOutcome.IssueType.BusinessRule, error), ct);
            }

            action = patchedAction!;
            if (action == "none")
            {
                return await gate.AuditedAsync(scope.Audit(AuditActions.Patch, AuditEntityTypes.DocumentReference, id, AuditOutcomes.Success, "the patch changed nothing"),
                    FhirResults.Resource(DossierResources.DocumentReference(visible, contentUrl)), ct);
            }
        }

        var done = await ApplyDocumentChangeAsync(scope, documentId, id, action, gate, rights, ct);
        if (!done)
            return FhirResults.NotFound($"DocumentReference/{id} is not found");
        if (action == AuditActions.Delete)
            return FhirResults.Information($"DocumentReference/{id} is deleted: it no longer appears anywhere; the audit trail keeps the trace");
        var after = await gate.Queries.GetDocumentAsync(documentId, null, ct);
        return FhirResults.Resource(DossierResources.DocumentReference(after!, DocumentEndpoints.ContentUrl(SearchBundles.BaseUrl(http.Request), documentId)));
    }

    /// <summary>Why this caller may not make this change to a document of the dossier (null: they may). The console asks the same.</summary>
    public static string? DocumentRightRefusal(DossierScope scope, string action)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var allowed = action == AuditActions.Unhide ? scope.Access.MayUnhide : scope.Access.MayExerciseRights;
        if (allowed)
            return null;
        return action == AuditActions.Unhide ? "only an authorised professional or the treating physician unhides a document" : "only the patient exercises this right";
    }

    /// <summary>
    /// Makes an allowed change (mask, unmask, unhide, delete) to a document found visible in <paramref name="scope"/>: the
    /// change and its audit event (naming <paramref name="entityId"/>, as the request did) commit together; false when the document is gone meanwhile. The API and the console call it.
    /// </summary>
    public static async Task<bool> ApplyDocumentChangeAsync(DossierScope scope, long documentId, string entityId, string action, DossierGate gate, DossierRights rights, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(rights);
        var audit = scope.Audit(action, AuditEntityTypes.DocumentReference, entityId, AuditOutcomes.Success);
        var done = action switch
        {
            AuditActions.Mask => await rights.SetMaskedAsync(documentId, true, audit, ct),
            AuditActions.Unmask => await rights.SetMaskedAsync(documentId, false, audit, ct),
            AuditActions.Unhide => await rights.UnhideAsync(documentId, audit, ct),
            AuditActions.Delete => await rights.DeleteDocumentAsync(documentId, audit, ct),
            _ => throw new InvalidOperationException("unknown document action " + action),
        };
        gate.Count(action, done ? AuditOutcomes.Success : AuditOutcomes.NotFound);
        return done;
    }

    /// <summary>
    /// Makes an allowed change to the dossier itself (close, reopen, authorise, revoke, oppose or allow emergency access)
    /// with its audit event; false when the patient has no dossier. The API and the console call it.
    /// </summary>
    public static async Task<bool> ApplyDossierChangeAsync(DossierScope scope, string action, string? rpps, bool treating, DossierGate gate, DossierRights rights, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(rights);
        var detail = rpps is null ? null : "rpps " + rpps + (treating ? " (treating physician)" : "");
        var audit = scope.Audit(action, AuditEntityTypes.Patient, DossierResources.Id(scope.PatientId), AuditOutcomes.Success, detail);
        var done = action switch
        {
            AuditActions.Close => await rights.SetOpenAsync(scope.PatientId, false, audit, ct),
            AuditActions.Reopen => await rights.SetOpenAsync(scope.PatientId, true, audit, ct),
            AuditActions.Authorize => await rights.AuthorizeAsync(scope.PatientId, rpps!, treating, audit, ct),
            AuditActions.Revoke => await rights.RevokeAsync(scope.PatientId, rpps!, treating, audit, ct),
            AuditActions.OpposeEmergency => await rights.SetEmergencyOppositionAsync(scope.PatientId, true, audit, ct),
            AuditActions.AllowEmergency => await rights.SetEmergencyOppositionAsync(scope.PatientId, false, audit, ct),
            _ => throw new InvalidOperationException("unknown dossier action " + action),
        };
        gate.Count(action, done ? AuditOutcomes.Success : AuditOutcomes.NotFound);
        return done;
    }

    /// <summary>The body as a JSON Patch document (an array of operations), or why it is not one.</summary>
    private static async Task<(JsonArray? Patch, string? Error)> ReadPatchAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            var node = await JsonNode.ParseAsync(request.Body, documentOptions: new JsonDocumentOptions { MaxDepth = RequestBodies.MaxDepth }, cancellationToken: ct);
            return node is JsonArray patch ? (patch, null) : (null, "the body is not a JSON Patch: a JSON Patch is an array of operations");
        }
        catch (JsonException)
        {
            return (null, $"the body is not a JSON Patch: not well-formed JSON, or nested deeper than {RequestBodies.MaxDepth}");
        }
    }

    /// <summary>
    /// Applies the patch to the resource's JSON and says what it changes: mask, unmask, delete or none.
    /// Only MASQUE_PS in securityLabel and status → entered-in-error may change.
    /// </summary>
    private static (string? Action, string? Error) InterpretPatch(F.DocumentReference current, JsonArray patch)
    {
        try
        {
            return InterpretPatchUnchecked(current, patch);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            // A value of the wrong JSON kind where the patch or a label needs a string, an object or an array.
            return (null, "the patch does not apply to a DocumentReference: a value has the wrong JSON type");
        }
    }

    private static (string? Action, string? Error) InterpretPatchUnchecked(F.DocumentReference current, JsonArray patch)
    {
        var document = JsonNode.Parse(FhirJson.Serialize(current, pretty: false))!.AsObject();
        foreach (var node in patch)
        {
            if (node is not JsonObject op || op["op"]?.GetValue<string>() is not { } kind || op["path"]?.GetValue<string>() is not { } path)
                return (null, "each patch operation needs op and path");
            if (!path.StartsWith("/securityLabel", StringComparison.Ordinal) && path != "/status")
                return (null, $"only /securityLabel and /status may be patched, not {path}");
            var error = Apply(document, kind, path, op["value"]);
            if (error is not null)
                return (null, error);
        }

        var status = document["status"]?.GetValue<string>();
        if (status == "entered-in-error")
            return (AuditActions.Delete, null);
        if (status != (current.Status == F.DocumentReferenceStatus.Superseded ? "superseded" : "current"))
            return (null, "status may only become entered-in-error (a delete)");

        static IEnumerable<string> Codes(JsonNode? labels) =>
            (labels as JsonArray ?? []).SelectMany(l => (l?["coding"] as JsonArray ?? []).Select(c => c?["code"]?.GetValue<string>() ?? "")).Order();
        var before = JsonNode.Parse(FhirJson.Serialize(current, pretty: false))!["securityLabel"];
        var after = document["securityLabel"];
        var others = Codes(after).Where(c => c != VisibilityCodes.MaskedToProfessionals).ToList();
        if (!others.SequenceEqual(Codes(before).Where(c => c != VisibilityCodes.MaskedToProfessionals)))
            return (null, "only the MASQUE_PS label may be added or removed (confidentiality and INVISIBLE_PATIENT are the sender's)");
        var masked = Codes(after).Contains(VisibilityCodes.MaskedToProfessionals);
        return masked == Codes(before).Contains(VisibilityCodes.MaskedToProfessionals) ? ("none", null) : (masked ? AuditActions.Mask : AuditActions.Unmask, null);
    }

    /// <summary>One RFC 6902 operation on /status or /securityLabel[/index|-] (add, remove, replace, test).</summary>
    private static string? Apply(JsonObject document, string kind, string path, JsonNode? value)
    {
        if (path == "/status")
        {
            if (kind is not ("replace" or "add"))
                return $"{kind} is not supported on /status";
            document["status"] = value?.DeepClone();
            return null;
        }

        var labels = document["securityLabel"] as JsonArray;
        var rest = path["/securityLabel".Length..];
        if (rest.Length == 0)
        {
            switch (kind)
            {
                case "add" or "replace":
                    document["securityLabel"] = value?.DeepClone();
                    return null;
                case "remove":
                    document.Remove("securityLabel");
                    return null;
                case "test":
                    return JsonNode.DeepEquals(labels, value) ? null : "test of /securityLabel failed";
                default:
                    return $"op {kind} is not supported";
            }
        }

        if (labels is null)
        {
            labels = [];
            document["securityLabel"] = labels;
        }

        var token = rest.TrimStart('/');
        if (token == "-" && kind == "add")
        {
            labels.Add(value?.DeepClone());
            return null;
        }

        if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index > labels.Count || (kind != "add" && index == labels.Count))
            return $"path {path} does not name a securityLabel element";
        switch (kind)
        {
            case "add":
                labels.Insert(index, value?.DeepClone());
                return null;
            case "remove":
                labels.RemoveAt(index);
                return null;
            case "replace":
                labels[index] = value?.DeepClone();
                return null;
            case "test":
                return JsonNode.DeepEquals(labels[index], value) ? null : $"test of {path} failed";
            default:
                return $"op {kind} is not supported";
        }
    }

    private static async Task<IResult> PatientOperationAsync(
        string id, string operation, HttpContext http, DossierGate gate, DossierRights rights, CancellationToken ct)
    {
        var action = operation switch
        {
            "$close" => AuditActions.Close,
            "$reopen" => AuditActions.Reopen,
            "$authorize" => AuditActions.Authorize,
            "$revoke" => AuditActions.Revoke,
            "$oppose-emergency" => AuditActions.OpposeEmergency,
            "$allow-emergency" => AuditActions.AllowEmergency,
            _ => null,
        };
        if (action is null)
            return FhirResults.NotFound($"POST Patient/{id}/{operation} is not supported ($close, $reopen, $authorize, $revoke, $oppose-emergency, $allow-emergency)");
        var notVisible = FhirResults.NotFound($"Patient/{id} is not found");
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var patientId))
            return notVisible;

        // Absent and not the caller's answer alike; the body is read only in a dossier the caller may act on.
        var gated = await gate.ForPatientAsync(http, patientId, action, AuditEntityTypes.Patient, id, notVisible, ct);
        if (gated.Scope is not { } scope)
            return gated.Response!;
        if (!scope.Access.MayExerciseRights)
        {
            return await gate.AuditedAsync(scope.Audit(action, AuditEntityTypes.Patient, id, AuditOutcomes.Denied, "only the patient exercises this right"),
                FhirResults.Forbidden("only the patient exercises the rights over their dossier"), ct);
        }

        var read = await RequestBodies.ReadResourceAsync(http.Request, "Parameters", ct);
        var bodyError = read.Error;
        string? rpps = null;
        var treating = false;
        if (bodyError is null && action is AuditActions.Authorize or AuditActions.Revoke)
            (rpps, treating, bodyError) = ReadProfessional(read.Resource);
        else
            bodyError = NoParameters(read, action);
        if (bodyError is not null)
        {
            return await gate.AuditedAsync(scope.Audit(action, AuditEntityTypes.Patient, id, AuditOutcomes.Invalid, bodyError),
                FhirResults.BadRequest(bodyError), ct);
        }

        var done = await ApplyDossierChangeAsync(scope, action, rpps, treating, gate, rights, ct);
        if (!done)
            return FhirResults.NotFound($"Patient/{id} has no dossier");
        var dossier = await gate.Queries.GetDossierAsync(scope.PatientId, null, null, ct);
        var state = new F.Parameters();
        state.Add("status", new F.Code(dossier!.Status));
        state.Add("opposes-emergency", new F.FhirBoolean(dossier.OpposesEmergency));
        if (dossier.TreatingRpps is { } physician)
            state.Add("treating-rpps", new F.FhirString(physician));
        return FhirResults.Resource(state);
    }

    /// <summary>Why the body of an operation that takes no parameters is refused: not a Parameters, or one carrying parameters.</summary>
    private static string? NoParameters((JsonObject? Resource, string? Error) read, string action) =>
        read.Error ?? (read.Resource?["parameter"] is not null ? $"this operation ({action}) takes no parameters: send no body or an empty Parameters" : null);

    /// <summary>
    /// `rpps` (11 digits; an `8`-prefixed national id is accepted) and optional `treating` from a FHIR Parameters body,
    /// read off the JSON with every member's kind checked: `rpps` as a string value[x] (valueString …) or a valueIdentifier,
    /// `treating` as valueBoolean (or a primitive "true").
    /// </summary>
    private static (string? Rpps, bool Treating, string? Error) ReadProfessional(JsonObject? body)
    {
        const string expected = "the body must be a FHIR Parameters resource with rpps (and optionally treating)";
        if (body is null)
            return (null, false, expected);
        if (body["parameter"] is not JsonArray list || list.Any(p => p is not JsonObject { } o || o["name"] is not JsonValue name || name.GetValueKind() != JsonValueKind.String))
            return (null, false, expected + ": parameter is a list of objects, each with a name");
        var parameters = list.Cast<JsonObject>().ToList();
        static JsonObject? Named(List<JsonObject> all, string name) => all.FirstOrDefault(p => p["name"]!.GetValue<string>() == name);

        string? rppsValue = null;
        if (Named(parameters, "rpps") is { } rppsParameter)
        {
            foreach (var (key, value) in rppsParameter)
            {
                if (!key.StartsWith("value", StringComparison.Ordinal))
                    continue;
                rppsValue = value switch
                {
                    JsonValue v when v.GetValueKind() == JsonValueKind.String => v.ToString(),
                    JsonObject identifier when key == "valueIdentifier" && identifier["value"] is JsonValue v && v.GetValueKind() == JsonValueKind.String => v.ToString(),
                    _ => null,
                };
            }
        }

        if (!Rpps.TryParse(rppsValue, out var rpps))
            return (null, false, "rpps must be the professional's 11-digit RPPS number");
        var treating = Named(parameters, "treating") is { } flag &&
                       (flag["valueBoolean"] is JsonValue b && b.GetValueKind() == JsonValueKind.True ||
                        flag.Any(m => m.Key.StartsWith("value", StringComparison.Ordinal) && m.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.ToString() == "true"));
        return (rpps.Number, treating, null);
    }
}
