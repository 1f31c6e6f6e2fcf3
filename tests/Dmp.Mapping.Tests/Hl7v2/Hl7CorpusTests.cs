using System.Text;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Mapping.Tests.Hl7v2;

/// <summary>Every shared-corpus HL7 v2 file (copied byte for byte) splits and parses; each oddity SOURCES.md notes is checked.</summary>
public class Hl7CorpusTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "TestData", "hl7v2");

    private static string[] Names() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();

    public static TheoryData<string> Files() => new(Names());

    private static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Root, name));

    private static Hl7Message Single(string name)
    {
        var split = Hl7Batch.Split(Bytes(name));
        Assert.True(split.Success, split.Error?.ToString());
        Assert.Single(split.Messages);
        var parsed = Hl7Message.Parse(split.Messages[0]);
        Assert.True(parsed.Success, parsed.Error?.ToString());
        return parsed.Message!;
    }

    [Fact]
    public void Corpus_has_all_71_files()
    {
        Assert.Equal(71, Names().Length);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_corpus_file_splits_and_every_message_parses_with_type_and_control_id(string name)
    {
        var bytes = Bytes(name);
        var split = Hl7Batch.Split(bytes);
        Assert.True(split.Success, $"{name}: {split.Error}");
        Assert.NotEmpty(split.Messages);
        foreach (var slice in split.Messages)
        {
            var parsed = Hl7Message.Parse(slice);
            Assert.True(parsed.Success, $"{name}: {parsed.Error}");
            var m = parsed.Message!;
            Assert.False(string.IsNullOrEmpty(m.MessageType), $"{name}: MSH-9");
            Assert.False(string.IsNullOrEmpty(m.ControlId), $"{name}: MSH-10");
            Assert.NotNull(m.Get("MSH-9"));
            Assert.Equal(m.GetSegment(0).GetField(10).Value, m.Get("MSH-10"));
            Assert.Equal(m.SegmentCount, Hl7Message.Parse(Hl7Encoder.Encode(m)).Message!.SegmentCount);
        }
        if (split.Messages.Count == 1)
        {
            // Independent oracle: a naive split on line breaks gives the same segments.
            var m = Hl7Message.Parse(split.Messages[0]).Message!;
            var text = Encoding.Latin1.GetString(bytes).TrimStart('\uFEFF', 'ï', '»', '¿');
            var naive = text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Where(l => l.Trim().Length > 0).ToArray();
            Assert.Equal(naive.Length, m.SegmentCount);
            Assert.Equal(naive.Select(l => l[..3]).ToArray(), m.Segments.Select(s => s.Id).ToArray());
        }
    }

    [Theory]
    [InlineData("reportstream_batch_message.hl7", 2, null)]
    [InlineData("reportstream_test-0001-input-covid-19.hl7", 20, "BTS) field 1: batch message count 25 but the batch holds 20")]
    public void Batch_files_yield_their_messages(string name, int count, string? warning)
    {
        var split = Hl7Batch.Split(Bytes(name));
        Assert.True(split.Success);
        Assert.Equal(count, split.Messages.Count);
        Assert.NotNull(split.FileHeader);
        Assert.NotNull(split.BatchHeader);
        Assert.NotNull(split.BatchTrailer);
        Assert.NotNull(split.FileTrailer);
        if (warning is null)
            Assert.Empty(split.Warnings);
        else
            Assert.Contains(warning, Assert.Single(split.Warnings), StringComparison.Ordinal); // the file's BTS-1 says 25
        Assert.All(split.Messages, m => Assert.Equal("ORU", Hl7Message.Parse(m).Message!.MessageType));
        Assert.Equal(count, split.Messages.Select(m => Hl7Message.Parse(m).Message!.ControlId).Distinct().Count());
        Assert.False(Hl7Message.Parse(Bytes(name)).Success); // Parse leaves envelopes to Hl7Batch
    }

    [Fact]
    public void Total_message_count_matches_the_corpus_summary()
    {
        var total = Names().Sum(name => Hl7Batch.Split(Bytes(name)).Messages.Count);
        Assert.Equal(91, total);
    }

    [Fact]
    public void Utf8_characters_in_the_covid_batch_are_decoded()
    {
        var split = Hl7Batch.Split(Bytes("reportstream_test-0001-input-covid-19.hl7"));
        var values = split.Messages.Select(m => Hl7Message.Parse(m).Message!)
            .SelectMany(m => m.SegmentsNamed("OBX"))
            .SelectMany(s => Enumerable.Range(1, s.FieldCount).Select(f => s.GetField(f).Value));
        Assert.Contains(values, v => v.Contains("\u2018preliminary.\u2019", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("fhirconv_ADT01-23.hl7", "ADT")]
    [InlineData("fhirconv_ADT04-251.hl7", "ADT")]
    [InlineData("fhirconv_LAB-ORM-1.hl7", "ORM")]
    [InlineData("fhirconv_LAB-ORU-1.hl7", "ORU")]
    [InlineData("fhirconv_VXU.hl7", "VXU")]
    [InlineData("fhirconv_PC1-Problem-Add-v2.3.1.hl7", "PPR")]
    public void Files_with_a_utf8_bom_parse_from_msh(string name, string type)
    {
        Assert.True(Bytes(name).AsSpan().StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }));
        var m = Single(name);
        Assert.Equal("MSH", m.GetSegment(0).Id);
        Assert.Equal(type, m.MessageType);
        Assert.Equal(Encoding.UTF8.CodePage, m.Encoding.CodePage);
    }

    [Theory]
    [InlineData("rubyhl7_nist_ORU_R01_2.5.1_SampleTestCase1.er7")]
    [InlineData("reportstream_CE-20200415-0001.hl7")]
    [InlineData("rubyhl7_rqi_r04.hl7")]
    [InlineData("rubyhl7_test2.hl7")]
    [InlineData("rubyhl7_cerner_lead.hl7")]
    [InlineData("ipf_pcd01-request.hl7")]
    public void Cr_only_crlf_and_mixed_line_ends_give_the_same_segments_as_lf(string name)
    {
        var bytes = Bytes(name);
        var m = Single(name);
        var normalised = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(bytes).Replace("\r\n", "\n").Replace('\r', '\n'));
        var lf = Hl7Message.Parse(normalised).Message!;
        Assert.Equal(lf.SegmentCount, m.SegmentCount);
        Assert.True(m.SegmentCount > 2);
        Assert.Equal(Hl7Encoder.Encode(lf), Hl7Encoder.Encode(m));
    }

    [Fact]
    public void Subcomponent_escape_in_the_a01_sample_is_decoded()
    {
        var m = Single("fhirconv_ADT-A01-01.hl7");
        Assert.Equal("NHS Provider-General (inc.A&E-this Hosp)", m.Get("PV1-14"));
        Assert.Equal(24, m.SegmentCount);
    }

    [Fact]
    public void Ascii_charset_and_timestamp_offsets_of_the_mdm_sample()
    {
        var m = Single("fhirconv_MDM-T02-03.hl7");
        Assert.Equal("ASCII", m.CharsetName);
        Assert.Equal(Encoding.ASCII.CodePage, m.Encoding.CodePage);
        Assert.True(Hl7DateTime.TryParse(m.GetSegment(0).GetField(7), out var sent));
        Assert.Equal(new TimeSpan(2, 15, 0), sent.Offset);
        Assert.Equal("2021-08-01T09:06:42+02:15", sent.ToFhirDateTime());
        Assert.Equal(29, m.SegmentsNamed("OBX").Count());
        Assert.Equal("AL", m.AcceptAckType);
    }

    [Fact]
    public void Line_break_escapes_in_nte_become_newlines()
    {
        var m = Single("reportstream_FLFHospital-SARSCOV2-20200317-0001.hl7");
        var notes = string.Join("\n", m.SegmentsNamed("NTE").Select(s => s.GetField(3).Value));
        Assert.Contains('\n', notes);
        Assert.DoesNotContain("\\.br\\", notes);
    }

    [Fact]
    public void Declared_8859_1_sample_is_read_as_latin1()
    {
        var m = Single("nodehl7_mirthproject_mfn-example.hl7");
        Assert.Equal("8859/1", m.CharsetName);
        Assert.Equal(Encoding.Latin1.CodePage, m.Encoding.CodePage);
        Assert.Equal("DU JARDIN", m.Get("STF-3.1"));
    }

    [Fact]
    public void Ed_with_empty_base64_payload_decodes_to_nothing()
    {
        var m = Single("ipf_modules-hl7_msg-08_MDM.hl7");
        Assert.True(m.TryGetSegment("OBX", out var obx));
        var ed = obx.GetField(5).AsEd();
        Assert.Equal("Base64", ed.Encoding);
        Assert.True(ed.TryDecodeBase64(out var bytes));
        Assert.Empty(bytes);
        Assert.True(m.TryGetSegment("ZBE", out _));
    }

    [Theory]
    [InlineData("ipf_pcd01-response_ACK.hl7", "MSGID1234")]
    [InlineData("french/ans_TDCDA-2.1_ORU_INIT_ack.hl7", "015")]
    public void Corpus_acks_are_read(string name, string controlId)
    {
        var reply = AckBuilder.ReadAck(Single(name));
        Assert.Equal(AckCode.AA, reply.Code);
        Assert.Equal(controlId, reply.AcknowledgedControlId);
    }

    [Fact]
    public void French_pam_admission_reads_ins_and_dmp_statuses()
    {
        var m = Single("french/ans_PAMFR_consent_ConsentementConsultation_NonOppositionAlimentation.er7");
        Assert.Equal("UNICODE UTF-8", m.CharsetName);
        Assert.Equal("2.5", m.Version);
        Assert.Equal("2.5^FRA^2.11", m.GetSegment(0).GetField(12).Value);
        Assert.Equal(["2.11^IHE_FRANCE-2.11-PAM"], m.ProfileIds);
        Assert.Equal("GAM", m.SendingApplication);
        var ins = m.GetSegment(2).GetField(3).GetRepetition(2).AsCx();
        Assert.Equal("279035121518989", ins.Id);
        Assert.Equal("1.2.250.1.213.1.4.10", ins.AssigningAuthorityUniversalId);
        Assert.Equal("INS", ins.IdentifierTypeCode);
        Assert.Equal("Réault", m.Get("PV1-7.2"));
        Assert.Equal("INO", m.Get("ZFA-9"));
        Assert.Equal("IC", m.Get("ZFA-11"));
        Assert.Equal("ZFD", m.GetSegment(m.SegmentCount - 1).Id); // trailing blank lines ignored
        var refusing = Single("french/ans_PAMFR_consent_NonConsentementConsultation_OppositionAlimentation.er7");
        Assert.Equal("IO", refusing.Get("ZFA-9"));
        Assert.Equal("INC", refusing.Get("ZFA-11"));
    }

    [Fact]
    public void French_accents_decode_in_zam_and_oru()
    {
        var zam = Single("french/ans_TDCDA-2.1_ZAM_Z01_reception_DMP.hl7");
        Assert.Equal("DMP fermé", zam.Get("ERR-5.2"));
        Assert.Equal("Accusé de réception DMP", zam.Get("OBX-3.2"));
        var oru = Single("french/ans_TDCDA-2.1_ORU_CR-Bio_INIT_N1_N3.hl7");
        Assert.Equal("Masqué aux professionnels de Santé", oru.Get("OBX[3]-3.2"));
        Assert.Equal(["2.1^CISIS_CDA_HL7_V2"], zam.ProfileIds);
    }

    [Fact]
    public void French_oru_placeholder_documents_and_mail_body_decode_from_base64()
    {
        var m = Single("french/ans_TDCDA-2.1_ORU_CR-Bio_INIT_N1_N3.hl7");
        Assert.True(m.TryGetSegment("OBX", 1, out var doc));
        Assert.True(doc.GetField(5).AsEd().TryDecodeBase64(out var placeholder));
        Assert.StartsWith("Document m", Encoding.UTF8.GetString(placeholder));
        Assert.True(m.TryGetSegment("OBX", 13, out var mail));
        Assert.Equal("CORPSMAIL_PS", mail.GetField(3).GetComponent(1).Value);
        // The sample's mail body is cut short (93 Base64 characters): a truncated payload is refused, not guessed.
        Assert.Equal(93, mail.GetField(5).AsEd().Data.Length);
        Assert.False(mail.GetField(5).AsEd().TryDecodeBase64(out _));
    }

    [Fact]
    public void Embedded_cda_of_the_large_mdm_decodes_from_base64()
    {
        var m = Single("french/ans_TDCDA-2.1-vague2_MDM_T02_CR-Radio_INIT_N1_Base64.er7");
        Assert.Equal("T02", m.TriggerEvent);
        var obx = m.SegmentsNamed("OBX").First(s => s.GetField(2).Value == "ED");
        var ed = obx.GetField(5).AsEd();
        Assert.True(ed.TryDecodeBase64(out var cda));
        Assert.True(cda.Length > 200_000);
        Assert.Contains("<ClinicalDocument", Encoding.UTF8.GetString(cda), StringComparison.Ordinal);
    }

    [Fact]
    public void French_profiles_of_each_cisis_version_are_listed()
    {
        Assert.Equal("2.6", Single("french/ans_TDCDA-2.0_MDM_T10_CR-Radio_RPLC_N1.er7").Version);
        Assert.Equal("MDM_T02", Single("french/ans_TDCDA-2.0_MDM_T10_CR-Radio_RPLC_N1.er7").MessageStructure);
        Assert.NotEmpty(Single("french/ans_TDCDA-1.2_ORU_message.hl7").ProfileIds);
    }
}
