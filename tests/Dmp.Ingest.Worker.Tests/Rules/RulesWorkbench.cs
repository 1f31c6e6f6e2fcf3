using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dmp.Ingest.Worker.Tests.Mllp;

namespace Dmp.Ingest.Worker.Tests.Rules;

/// <summary>
/// A temporary copy of the shipped rules (mappings/) a test edits on disk, the corpus traffic the workbench tests send,
/// and the calls they make to /api/rules.
/// </summary>
internal sealed class RulesWorkbench : IDisposable
{
    public RulesWorkbench()
    {
        Folder = Directory.CreateTempSubdirectory("dmp-rules-wb-").FullName;
        var from = Path.Combine(AppContext.BaseDirectory, "mappings");
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(Folder, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    public string Folder { get; }

    /// <summary>PV1-2 → Encounter.class: the code table the tests edit.</summary>
    public string EncounterClassTable => Path.Combine(Folder, "tables", "encounter-class.yaml");

    /// <summary>Inpatients (PV1-2 = I) become emergencies: every message with an inpatient visit maps differently.</summary>
    public void EditInpatientToEmergency() => Edit(EncounterClassTable, "  I: IMP\n", "  I: EMER\n");

    /// <summary>Undoes <see cref="EditInpatientToEmergency"/>.</summary>
    public void RestoreInpatient() => Edit(EncounterClassTable, "  I: EMER\n", "  I: IMP\n");

    /// <summary>A YAML syntax error on line 4 of the table.</summary>
    public void BreakTable() => Edit(EncounterClassTable, "  I: ", "  I: [unclosed ");

    public void Edit(string file, string from, string to)
    {
        var text = File.ReadAllText(file).ReplaceLineEndings("\n");
        Assert.Contains(from, text, StringComparison.Ordinal);
        File.WriteAllText(file, text.Replace(from, to, StringComparison.Ordinal));
        // A write in the same tick as the copy must still read as a change to a poller.
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(2));
    }

    public Dictionary<string, string?> Settings(string reload = "auto", string? previewTimeout = null)
    {
        var settings = new Dictionary<string, string?> { ["Dmp:Rules:Path"] = Folder, ["Dmp:Rules:Reload"] = reload, ["Dmp:Rules:ReloadSeconds"] = "1" };
        if (previewTimeout is not null)
            settings["Dmp:Rules:PreviewTimeoutSeconds"] = previewTimeout;
        return settings;
    }

    /// <summary>An ADT^A01 whose visit is of class <paramref name="patientClass"/> (PV1-2).</summary>
    public static byte[] Adt(string controlId, string patientClass) =>
        Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Hl7Samples.Adt(controlId)).Replace("PV1|1|I|", $"PV1|1|{patientClass}|", StringComparison.Ordinal));

    public static async Task<(int Status, JsonElement Body, string? MediaType)> TryAsync(HttpClient api, byte[] message, string query = "", string mediaType = "x-application/hl7-v2+er7")
    {
        using var content = new ByteArrayContent(message);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = await api.PostAsync("/api/rules/try" + query, content);
        return await ReadAsync(response);
    }

    public static async Task<(int Status, JsonElement Body, string? MediaType)> PreviewAsync(HttpClient api, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await api.PostAsync("/api/rules/preview", content);
        return await ReadAsync(response);
    }

    public static async Task<(int Status, JsonElement Body, string? MediaType)> ReloadAsync(HttpClient api)
    {
        using var response = await api.PostAsync("/api/rules/reload", null);
        return await ReadAsync(response);
    }

    private static async Task<(int, JsonElement, string?)> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(text.Length > 0, $"{(int)response.StatusCode} with an empty body");
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>The class code of the Bundle's Encounter (null: none).</summary>
    public static string? EncounterClass(JsonElement bundle) =>
        bundle.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource"))
            .Where(r => r.GetProperty("resourceType").GetString() == "Encounter")
            .Select(r => r.GetProperty("class").GetProperty("code").GetString()).FirstOrDefault();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
