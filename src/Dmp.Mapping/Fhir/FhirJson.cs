using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Dmp.Mapping.Fhir;

/// <summary>FHIR R4 JSON through Firely's System.Text.Json converters.</summary>
public static class FhirJson
{
    private static readonly JsonSerializerOptions PrettyOptions = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector).Pretty();
    private static readonly JsonSerializerOptions CompactOptions = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    public static string Serialize(Resource resource, bool pretty = true) =>
        JsonSerializer.Serialize(resource, pretty ? PrettyOptions : CompactOptions);

    /// <summary>Reads FHIR JSON strictly: bad dates, unknown properties and missing required elements fail.</summary>
    public static T DeserializeStrict<T>(string json) where T : Resource
    {
        var deserializer = new FhirJsonDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Strict));
        return deserializer.Deserialize<T>(json);
    }
}
