using System.Globalization;
using System.Text;

namespace Dmp.Bench.Store;

/// <summary>
/// ORU messages of the corpus made many: each copy gets a unique MSH-10, a patient's INS in PID-3 (NIR test OID, as the
/// seeded patients have) with PID-32 = VALI so that it is applied, a unique order number (ORC-2 / OBR-2), and for the
/// CR-Bio a body of its own (the corpus message carries a placeholder text, not a CDA: the document is then known by
/// the SHA-256 of its body, so every copy would be one document without this).
/// </summary>
public sealed class OruVariants
{
    /// <summary>The CI-SIS lab report in HL7 v2 (ORU with a base64 document in OBX ED).</summary>
    public const string CrBio = "hl7v2/french/ans_TDCDA-2.1_ORU_CR-Bio_INIT_N1_N3.hl7";

    private readonly string[][] _templates;

    /// <param name="which">`both` (they alternate), `crbio` or `lab` (the NIST lab ORU).</param>
    public OruVariants(string which, string? corpusDir = null)
    {
        var crBio = Lines(BenchCorpus.Read(CrBio, corpusDir));
        var lab = Lines(BenchCorpus.Read(BenchCorpus.Oru, corpusDir));
        _templates = which switch
        {
            "crbio" => [crBio],
            "lab" => [lab],
            "both" => [crBio, lab],
            _ => throw new ArgumentException($"--template {which}: give both, crbio or lab", nameof(which)),
        };
    }

    /// <summary>The n-th message for the patient with this INS.</summary>
    public byte[] Message(long n, string runId, string ins)
    {
        var template = _templates[n % _templates.Length];
        var order = runId + n.ToString(CultureInfo.InvariantCulture);
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes("Document medical au format CDA niveau 1, bench " + order));
        var text = new StringBuilder();
        foreach (var line in template)
        {
            var fields = line.Split('|');
            switch (fields[0])
            {
                case "MSH":
                    fields[9] = "BENCH-" + order;
                    break;
                case "PID":
                    if (fields.Length < 33)
                        fields = [.. fields, .. Enumerable.Repeat("", 33 - fields.Length)];
                    fields[3] = ins + "^^^ASIP-SANTE-INS-NIR&" + SeedStore.InsSystem + "&ISO^INS";
                    fields[32] = "VALI";
                    break;
                case "OBX" when fields.Length > 5 && fields[2] == "ED" && fields[3].StartsWith("11502-2", StringComparison.Ordinal):
                    var parts = fields[5].Split('^');
                    parts[^1] = body;
                    fields[5] = string.Join('^', parts);
                    break;
                case "ORC" or "OBR":
                    fields[2] = order + "^BENCH";
                    fields[3] = order + "^LAB";
                    break;
            }

            text.Append(string.Join('|', fields)).Append('\r');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string[] Lines(byte[] bytes) =>
        Encoding.UTF8.GetString(bytes).Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
}
