namespace Dmp.Bench;

/// <summary>
/// The messages every benchmark reads: files of the shared corpus (tests/Dmp.Mapping.Tests/TestData), found from the
/// program's folder or the working folder, so that `dotnet run`, BenchmarkDotNet's child processes and the tests agree.
/// </summary>
public static class BenchCorpus
{
    public const string Adt = "hl7v2/fhirconv_ADT-A01-01.hl7";
    /// <summary>A French IHE PAM ADT^A01 (PAM France 2.11: INS, ZBE, ZFA, ZFD …).</summary>
    public const string AdtPam = "hl7v2/french/ans_PAMFR_SGL_admission_A01.er7";
    public const string Oru = "hl7v2/rubyhl7_nist_ORU_R01_2.5.1_SampleTestCase1.er7";
    /// <summary>An MDM^T02 of about 330 KB carrying a base64 CDA in OBX-5.</summary>
    public const string MdmBase64 = "hl7v2/french/ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7";
    /// <summary>A French CDA R2 (radiology report, the body of the MDM above).</summary>
    public const string Cda = "cda/french/ans_TDCDA-2.1-vague2_CR_Radio_CDAN1_v1.XML";

    private const string TestDataFromRoot = "tests/Dmp.Mapping.Tests/TestData";

    /// <summary>The bytes of a corpus file, by its path under TestData.</summary>
    public static byte[] Read(string relativePath, string? corpusDir = null) =>
        File.ReadAllBytes(Path.Combine(Locate(corpusDir), relativePath));

    /// <summary>The TestData folder: the one given, else beside the program (tests link it there), else found upwards.</summary>
    public static string Locate(string? corpusDir = null)
    {
        if (corpusDir is not null)
            return Directory.Exists(corpusDir) ? corpusDir : throw new DirectoryNotFoundException($"corpus folder {corpusDir} does not exist");
        var beside = Path.Combine(AppContext.BaseDirectory, "TestData");
        if (File.Exists(Path.Combine(beside, Adt)))
            return beside;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, TestDataFromRoot);
                if (File.Exists(Path.Combine(candidate, Adt)))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException($"cannot find {TestDataFromRoot} above {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}: run from the repository or pass --corpus DIR");
    }
}
