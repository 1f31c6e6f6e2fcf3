using System.Text;
using CsCheck;
using Dmp.Mapping.Cda;
using Dmp.Mapping.Hl7v2;
using Dmp.Mapping.Rules;
using Hl7.Fhir.Model;

namespace Dmp.Mapping.Tests.Rules;

/// <summary>
/// A message that carries a CDA R2 in an OBX reaches the document rules whatever MSH-21 names: the CI-SIS profile
/// versions, the LPS/MSSanté variant, an unknown version, another profile or none. "No message that carries a readable
/// CDA ends without its DocumentReference."
/// </summary>
public sealed class DocumentsByContentTests
{
    private static readonly string[] MdmCases =
        ["cda-in-hl7v2-mdm-t02-cisis-2.0.hl7", "cda-in-hl7v2-mdm-t02-lps-1.1.hl7", "cda-in-hl7v2-mdm-t02-no-profile.hl7"];

    private static readonly string[] OruCases =
        ["cda-in-hl7v2-oru-r01-cisis-2.1.hl7", "cda-in-hl7v2-oru-r01-cisis-9.9.hl7", "cda-in-hl7v2-oru-r01-other-profile.hl7"];

    /// <summary>MSH-21 values a sender may put on a document-bearing message; null removes MSH-21.</summary>
    private static readonly string?[] Profiles =
    [
        null, "", "1.2^CISIS_CDA_HL7_V1", "2.0^CISIS_CDA_HL7_V2", "2.1^CISIS_CDA_HL7_V2", "3.0^CISIS_CDA_HL7_V3", "1.1^CISIS_CDA_HL7_LPS",
        "1.0^CISIS_CDA_HL7_LPS", "IHE_XDS_SD", "2.5^FRA^2.11", "1.0^ACME_REPORTS~2.1^CISIS_CDA_HL7_V2",
    ];

    [Theory]
    [InlineData("mdm")]
    [InlineData("oru")]
    public void The_same_CDA_under_three_profiles_gives_the_same_document(string kind)
    {
        var cases = kind == "mdm" ? MdmCases : OruCases;
        var documents = cases.Select(file =>
        {
            var bundle = Map(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, file)));
            return bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>().Single(d => d.MasterIdentifier is not null);
        }).ToList();
        foreach (var document in documents)
        {
            Assert.Equal("urn:oid:1.2.250.1.213.1.1.1.59.2024.2.1", document.MasterIdentifier!.Value);
            Assert.Equal("text/xml", document.Content[0].Attachment.ContentType);
            Assert.Equal(documents[0].Content[0].Attachment.Hash, document.Content[0].Attachment.Hash);
            Assert.Equal(documents[0].Type!.Coding[0].Code, document.Type!.Coding[0].Code);
        }
    }

    [Fact]
    public void A_profile_the_rules_do_not_name_falls_to_the_rule_by_content_and_CI_SIS_profiles_to_theirs()
    {
        Assert.Equal("cisis-cda-mdm", RuleOf("cda-in-hl7v2-mdm-t02-lps-1.1.hl7"));
        Assert.Equal("cisis-cda-mdm", RuleOf("cda-in-hl7v2-mdm-t02-cisis-2.0.hl7"));
        Assert.Equal("cda-in-hl7v2-mdm", RuleOf("cda-in-hl7v2-mdm-t02-no-profile.hl7"));
        Assert.Equal("cisis-cda-oru", RuleOf("cda-in-hl7v2-oru-r01-cisis-9.9.hl7"));
        Assert.Equal("cda-in-hl7v2-oru", RuleOf("cda-in-hl7v2-oru-r01-other-profile.hl7"));
        // Without a CDA the rule by content does not apply: a lab ORU stays a lab ORU.
        Assert.Equal("oru-lab", RuleOf("oru-lab-nist.hl7"));
    }

    /// <summary>The case of the issue: the ANS MDM^T02 v2.6 with a real ~180 KB Base64 CDA, under profiles the rules do not name.</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("1.1^CISIS_CDA_HL7_LPS")]
    [InlineData("3.0^CISIS_CDA_HL7_V3")]
    [InlineData("1.0^ACME_REPORTS")]
    public void The_corpus_MDM_with_its_real_CDA_maps_its_document_under_any_profile(string? profile)
    {
        var lines = Encoding.UTF8.GetString(File.ReadAllBytes(RulesTestSupport.TestData("hl7v2", "french", "ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7")))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        var msh = lines[0].Split('|').ToList();
        msh.RemoveRange(20, msh.Count - 20);
        if (profile is not null)
            msh.Add(profile);
        lines[0] = string.Join('|', msh);
        var bundle = Map(Encoding.UTF8.GetBytes(string.Join('\r', lines) + "\r"));

        var reference = Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>());
        Assert.Equal("text/xml", reference.Content[0].Attachment.ContentType);
        Assert.NotNull(reference.MasterIdentifier);
        Assert.DoesNotContain(bundle.Entry.Select(e => e.Resource).OfType<OperationOutcome>().SelectMany(o => o.Issue),
            i => i.Diagnostics?.Contains("no mapping rule", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void The_LPS_mail_OBX_is_not_a_document()
    {
        var bundle = Map(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, "cda-in-hl7v2-mdm-t02-lps-1.1.hl7")));
        Assert.Single(bundle.Entry.Select(e => e.Resource).OfType<DocumentReference>());
    }

    [Fact]
    public void Explain_reports_what_the_model_has_no_place_for_without_its_values()
    {
        var lps = Hl7Message.Parse(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, "cda-in-hl7v2-mdm-t02-lps-1.1.hl7"))).Message!;
        var lines = RulesTestSupport.Rules.Unused(lps);
        Assert.Contains(lines, l => l.StartsWith("segment 8 PRT RCT: a recipient", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("segment 9 PRT REPLY", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("segment 10 OBX ED with no content subtype", StringComparison.Ordinal) && l.Contains("e-mail", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("OBX CORPSMAIL_PS (MetaDMPMSS)", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("chosen by content", StringComparison.Ordinal));
        // Names and addresses stay out of the explanation.
        Assert.DoesNotContain(lines, l => l.Contains("mssante.fr", StringComparison.Ordinal) || l.Contains("Hoda", StringComparison.Ordinal));

        var none = Hl7Message.Parse(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, "cda-in-hl7v2-mdm-t02-no-profile.hl7"))).Message!;
        Assert.Contains(RulesTestSupport.Rules.Unused(none), l => l.StartsWith("rule cda-in-hl7v2-mdm chosen by content", StringComparison.Ordinal) && l.Contains("(none)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_message_without_a_CDA_is_not_recognised_as_carrying_one()
    {
        // The CI-SIS examples' OBX-5 hold a short placeholder text, not a CDA.
        var message = Hl7Message.Parse(File.ReadAllBytes(RulesTestSupport.TestData("hl7v2", "french", "ans_TDCDA-2.0_MDM_T02_CR-Radio_INIT_N1.er7"))).Message!;
        Assert.False(CarriedCda.Carries(message));
        Assert.False(CarriedCda.IsClinicalDocument(Encoding.UTF8.GetBytes("<ClinicalDocument xmlns=\"urn:hl7-org:v2\"/>")));
        Assert.False(CarriedCda.IsClinicalDocument(Encoding.UTF8.GetBytes("<!DOCTYPE x [<!ENTITY a \"b\">]><ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>")));
        Assert.True(CarriedCda.IsClinicalDocument(Encoding.UTF8.GetBytes("\uFEFF<?xml version=\"1.0\"?><v3:ClinicalDocument xmlns:v3=\"urn:hl7-org:v3\"/>")));
    }

    /// <summary>
    /// Property: every document-bearing ORU/MDM of the corpus copy (an OBX of type ED that is not a MetaDMPMSS row), with
    /// any corpus CDA in its document OBX (Base64, or as escaped text), any MSH-21 (removed, another profile; CI-SIS
    /// versions, LPS and unknown CI-SIS versions on the CI-SIS messages) and any version 2.3–2.8, maps to a
    /// DocumentReference whose masterIdentifier is the CDA's id.
    /// </summary>
    [Fact]
    public void Every_document_bearing_message_with_any_profile_yields_its_DocumentReference()
    {
        var messages = DocumentBearingMessages();
        var cdas = ReadableCdas();
        Assert.True(messages.Count >= 5, $"only {messages.Count} document-bearing messages in the corpus copy");
        Assert.True(cdas.Count >= 10, $"only {cdas.Count} readable CDA documents in the corpus copy");
        var versions = new[] { "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8" };

        Gen.Select(Gen.Int[0, messages.Count - 1], Gen.Int[0, cdas.Count - 1], Gen.Int[0, Profiles.Length - 1], Gen.Int[0, versions.Length - 1], Gen.Bool)
            .Sample((m, c, p, v, base64) =>
            {
                var (name, lines) = messages[m];
                var (cdaName, cda, id) = cdas[c];
                // A CI-SIS profile imposes its lifecycle signals (a T10 whose OBX-11 is F is rejected under it): it is put
                // only on the corpus's CI-SIS messages; every message gets the other values (removed, another profile).
                var profile = Profiles[p];
                if (profile?.Contains("CISIS", StringComparison.Ordinal) == true && !lines[0].Contains("CISIS", StringComparison.Ordinal))
                    profile = null;
                var input = Build(lines, cda, profile, versions[v], base64);
                var label = $"{name} with {cdaName}, MSH-21 {profile ?? "(removed)"}, v{versions[v]}, {(base64 ? "Base64" : "text")}";
                var result = InboundMapper.Map(input, "file", RulesTestSupport.Rules);
                Assert.True(result.Error is null, $"{label}: {result.Error?.Reason}");
                var references = result.Bundle!.Entry.Select(e => e.Resource).OfType<DocumentReference>().ToList();
                Assert.True(references.Exists(d => d.MasterIdentifier?.Value?.Contains(id, StringComparison.Ordinal) == true),
                    $"{label}: no DocumentReference for the CDA {id}");
            }, iter: 300, threads: 1);
    }

    /// <summary>The corpus copy's ORU/MDM whose OBX include a document (ED, not a MetaDMPMSS row), as lines.</summary>
    private static List<(string Name, List<string> Lines)> DocumentBearingMessages()
    {
        var result = new List<(string, List<string>)>();
        foreach (var file in Directory.EnumerateFiles(RulesTestSupport.TestData("hl7v2"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var text = Encoding.UTF8.GetString(File.ReadAllBytes(file)).TrimStart('\uFEFF');
            var lines = text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).ToList();
            if (lines.Count(l => l.StartsWith("MSH|", StringComparison.Ordinal)) != 1)
                continue;
            var type = lines[0].Split('|')[8];
            if (!(type.StartsWith("ORU^R01", StringComparison.Ordinal) || type.StartsWith("MDM", StringComparison.Ordinal)))
                continue;
            if (DocumentObx(lines) >= 0)
                result.Add((Path.GetFileName(file), lines));
        }
        return result;
    }

    private static int DocumentObx(List<string> lines) => lines.FindIndex(l =>
    {
        var f = l.Split('|');
        return f[0] == "OBX" && f.Length > 5 && f[2] == "ED" && !RulesTestSupport.Rules.Tables["metadmpmss-flags"].Contains(f[3].Split('^')[0]);
    });

    /// <summary>The corpus copy's CDA documents that read as CDA with an id (the id the DocumentReference must carry).</summary>
    private static List<(string Name, byte[] Bytes, string Id)> ReadableCdas()
    {
        var result = new List<(string, byte[], string)>();
        foreach (var file in Directory.EnumerateFiles(RulesTestSupport.TestData("cda"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            if (SafeXml.TryLoad(bytes, out var xml, out _) && CdaHeaderReader.TryRead(xml!, out var header, out _) && header!.Id?.Value is { } id)
                result.Add((Path.GetFileName(file), bytes, id.Replace("urn:oid:", "", StringComparison.Ordinal).Split('^')[0]));
        }
        return result;
    }

    /// <summary>The message with MSH-12 and MSH-21 set and the CDA in its document OBX-5 (Base64, or escaped text with encoding A).</summary>
    private static byte[] Build(List<string> source, byte[] cda, string? profile, string version, bool base64)
    {
        var lines = new List<string>(source);
        var msh = lines[0].Split('|').ToList();
        while (msh.Count < 21)
            msh.Add("");
        msh[11] = version;
        if (profile is null)
            msh.RemoveRange(20, msh.Count - 20);
        else
            msh[20] = profile;
        lines[0] = string.Join('|', msh);

        var at = DocumentObx(lines);
        var obx = lines[at].Split('|');
        var data = base64
            ? Convert.ToBase64String(cda)
            : Hl7Encoder.Escape(Encoding.UTF8.GetString(cda).TrimStart('\uFEFF'), Hl7Delimiters.Default);
        obx[5] = $"^text^XML^{(base64 ? "Base64" : "A")}^{data}";
        lines[at] = string.Join('|', obx);
        return Encoding.UTF8.GetBytes(string.Join('\r', lines) + "\r");
    }

    private static string? RuleOf(string goldenFile)
    {
        var message = Hl7Message.Parse(File.ReadAllBytes(Path.Combine(RulesTestSupport.GoldenFolder, goldenFile))).Message!;
        return RulesTestSupport.Rules.Select(message)?.Id;
    }

    private static Bundle Map(byte[] input)
    {
        var result = InboundMapper.Map(input, "file", RulesTestSupport.Rules);
        Assert.True(result.Error is null, result.Error?.Reason);
        return result.Bundle!;
    }
}
