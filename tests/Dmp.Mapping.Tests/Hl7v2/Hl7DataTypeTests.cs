using System.Text;
using Dmp.Mapping.Hl7v2;
using static Dmp.Mapping.Tests.Hl7v2.Hl7TestMessages;

namespace Dmp.Mapping.Tests.Hl7v2;

public class Hl7DataTypeTests
{
    [Theory]
    [InlineData("2024", Hl7Precision.Year, "2024", "2024")]
    [InlineData("202403", Hl7Precision.Month, "2024-03", "2024-03")]
    [InlineData("20240306", Hl7Precision.Day, "2024-03-06", "2024-03-06")]
    [InlineData("2024030611", Hl7Precision.Hour, "2024-03-06", "2024-03-06")]
    [InlineData("202403061130", Hl7Precision.Minute, "2024-03-06", "2024-03-06")]
    [InlineData("20240306113045", Hl7Precision.Second, "2024-03-06", "2024-03-06")]
    [InlineData("20240306113045.1234", Hl7Precision.Fraction, "2024-03-06", "2024-03-06")]
    [InlineData("20240306113045+0100", Hl7Precision.Second, "2024-03-06", "2024-03-06T11:30:45+01:00")]
    [InlineData("202403061130-0500", Hl7Precision.Minute, "2024-03-06", "2024-03-06T11:30:00-05:00")]
    [InlineData("2024030611+0000", Hl7Precision.Hour, "2024-03-06", "2024-03-06T11:00:00+00:00")]
    [InlineData("20240306113045.25+0215", Hl7Precision.Fraction, "2024-03-06", "2024-03-06T11:30:45.25+02:15")]
    public void Timestamps_keep_their_precision_and_give_valid_fhir(string text, Hl7Precision precision, string fhirDate, string fhirDateTime)
    {
        Assert.True(Hl7DateTime.TryParse(text, out var ts));
        Assert.Equal(precision, ts.Precision);
        Assert.Equal(fhirDate, ts.ToFhirDate());
        Assert.Equal(fhirDateTime, ts.ToFhirDateTime());
        Assert.Equal(text, ts.ToString());
    }

    [Theory]
    [InlineData("20241301")]
    [InlineData("20240230")]
    [InlineData("20230229")]
    [InlineData("2024030625")]
    [InlineData("202403061260")]
    [InlineData("20240306115960")]
    [InlineData("0000")]
    [InlineData("202")]
    [InlineData("20240")]
    [InlineData("2024-03-06")]
    [InlineData("20240306+01")]
    [InlineData("20240306+2400")]
    [InlineData("2024030611.5")]
    [InlineData("20240306113045.12345")]
    [InlineData("")]
    [InlineData("abcd")]
    public void Invalid_timestamps_do_not_parse(string text)
    {
        Assert.False(Hl7DateTime.TryParse(text, out _));
    }

    [Fact]
    public void Leap_day_parses()
    {
        Assert.True(Hl7DateTime.TryParse("20240229", out var d));
        Assert.Equal(new DateTime(2024, 2, 29), d.Local);
    }

    [Fact]
    public void Offset_gives_an_instant()
    {
        Assert.True(Hl7DateTime.TryParse("20210801090642+0215", out var ts));
        Assert.Equal(new TimeSpan(2, 15, 0), ts.Offset);
        Assert.Equal(new DateTimeOffset(2021, 8, 1, 9, 6, 42, new TimeSpan(2, 15, 0)), ts.ToDateTimeOffset());
        Assert.True(Hl7DateTime.TryParse("20210801", out var day));
        Assert.Null(day.ToDateTimeOffset());
        Assert.Null(day.Offset);
    }

    [Fact]
    public void Time_without_offset_can_assume_a_zone()
    {
        Assert.True(Hl7DateTime.TryParse("20240706113045", out var ts));
        var zone = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test", "test");
        Assert.Equal("2024-07-06T11:30:45+02:00", ts.ToFhirDateTime(zone));
        Assert.Equal("2024-07-06", ts.ToFhirDateTime());
        Assert.True(Hl7DateTime.TryParse("20240706", out var day));
        Assert.Equal("2024-07-06", day.ToFhirDateTime(zone));
    }

    [Fact]
    public void Timestamp_is_read_from_a_ts_field()
    {
        var m = Parse("MSH|^~\\&|A|B|C|D|20240306111154+0100^S||ADT^A01|1|P|2.5", "PID|1||||||19790328");
        Assert.True(Hl7DateTime.TryParse(m.GetSegment(0).GetField(7), out var sent));
        Assert.Equal(Hl7Precision.Second, sent.Precision);
        Assert.Equal(TimeSpan.FromHours(1), sent.Offset);
        Assert.Equal(new DateTime(1979, 3, 28), m.GetSegment(1).GetField(7).AsDateTime()!.Value.Local);
        Assert.Null(m.GetSegment(1).GetField(8).AsDateTime());
    }

    [Fact]
    public void Cx_with_oid_assigning_authority_is_read()
    {
        var m = Parse("MSH|^~\\&|A", "PID|1||123^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~IPP1^5^M11^CHU-X&&^PI^FAC&1.2.3&ISO^20200101^20301231");
        var ids = m.GetSegment(1).GetField(3);
        var ins = Hl7Cx.From(ids.GetRepetition(1));
        Assert.Equal("123", ins.Id);
        Assert.Equal("ASIP-SANTE-INS-NIR", ins.AssigningAuthority.NamespaceId);
        Assert.Equal("1.2.250.1.213.1.4.8", ins.AssigningAuthorityUniversalId);
        Assert.Equal("ISO", ins.AssigningAuthority.UniversalIdType);
        Assert.Equal("INS", ins.IdentifierTypeCode);
        Assert.Null(ins.CheckDigit);
        Assert.True(ins.AssigningFacility.IsEmpty);
        var ipp = ids.GetRepetition(2).AsCx();
        Assert.Equal("IPP1", ipp.Id);
        Assert.Equal("5", ipp.CheckDigit);
        Assert.Equal("M11", ipp.CheckDigitScheme);
        Assert.Equal("CHU-X", ipp.AssigningAuthorityNamespace);
        Assert.Null(ipp.AssigningAuthorityUniversalId);
        Assert.Equal("PI", ipp.IdentifierTypeCode);
        Assert.Equal("1.2.3", ipp.AssigningFacility.UniversalId);
        Assert.Equal("20200101", ipp.EffectiveDate);
        Assert.Equal("20301231", ipp.ExpirationDate);
        Assert.Equal("FAC^1.2.3^ISO", ipp.AssigningFacility.ToString());
    }

    [Fact]
    public void Xpn_components_are_read()
    {
        var m = Parse("MSH|^~\\&|A", "PID|1||1||DUPONT&VAN^JEAN^PIERRE MARIE^JR^DR^MD^L~MARTIN^JEANNE^^^^^D");
        var f = m.GetSegment(1).GetField(5);
        var used = Hl7Xpn.From(f.GetRepetition(1));
        Assert.Equal("DUPONT", used.Family);
        Assert.Equal("JEAN", used.Given);
        Assert.Equal("PIERRE MARIE", used.SecondGiven);
        Assert.Equal("JR", used.Suffix);
        Assert.Equal("DR", used.Prefix);
        Assert.Equal("MD", used.Degree);
        Assert.Equal("L", used.NameTypeCode);
        var birth = f.GetRepetition(2).AsXpn();
        Assert.Equal("MARTIN", birth.Family);
        Assert.Equal("D", birth.NameTypeCode);
        Assert.Null(birth.SecondGiven);
    }

    [Fact]
    public void Xad_components_are_read()
    {
        var m = Parse("MSH|^~\\&|A", "PID|1||||||||||28 Av de Breteuil^Bat A^PARIS^IDF^75007^FRA^H^^75^123");
        var a = m.GetSegment(1).GetField(11).GetRepetition(1).AsXad();
        Assert.Equal("28 Av de Breteuil", a.Street);
        Assert.Equal("Bat A", a.OtherDesignation);
        Assert.Equal("PARIS", a.City);
        Assert.Equal("IDF", a.State);
        Assert.Equal("75007", a.PostalCode);
        Assert.Equal("FRA", a.Country);
        Assert.Equal("H", a.AddressType);
        Assert.Equal("75", a.CountyCode);
        Assert.Equal("123", a.CensusTract);
    }

    [Fact]
    public void Coded_elements_are_read_with_alternates_and_original_text()
    {
        var m = Parse("MSH|^~\\&|A", "OBX|1|CWE|11502-2^CR d'examens biologiques^LN^BIO^Bio^L^2.68^1^Original \\T\\ text");
        var c = m.GetSegment(1).GetField(3).AsCoded();
        Assert.Equal("11502-2", c.Identifier);
        Assert.Equal("CR d'examens biologiques", c.Text);
        Assert.Equal("LN", c.CodingSystem);
        Assert.Equal("BIO", c.AlternateIdentifier);
        Assert.Equal("Bio", c.AlternateText);
        Assert.Equal("L", c.AlternateCodingSystem);
        Assert.Equal("2.68", c.CodingSystemVersion);
        Assert.Equal("1", c.AlternateCodingSystemVersion);
        Assert.Equal("Original & text", c.OriginalText);
    }

    [Fact]
    public void Coded_element_in_a_component_reads_subcomponents()
    {
        var m = Parse("MSH|^~\\&|A", "ERR||PID^1^3^102&Data type error&HL70357");
        var c = m.GetSegment(1).GetField(2).GetComponent(4).AsCoded();
        Assert.Equal("102", c.Identifier);
        Assert.Equal("Data type error", c.Text);
        Assert.Equal("HL70357", c.CodingSystem);
    }

    [Fact]
    public void Ed_base64_with_missing_padding_and_line_breaks_is_decoded()
    {
        var payload = Encoding.UTF8.GetBytes("<ClinicalDocument>é</ClinicalDocument>!");
        var b64 = Convert.ToBase64String(payload).TrimEnd('=');
        var wrapped = b64[..10] + "\\X0D0A\\" + b64[10..20] + " \\.br\\" + b64[20..];
        var m = Parse("MSH|^~\\&|A", "OBX|1|ED|DOC||^text^XML^Base64^" + wrapped);
        var ed = m.GetSegment(1).GetField(5).AsEd();
        Assert.Equal("text", ed.TypeOfData);
        Assert.Equal("XML", ed.DataSubtype);
        Assert.Equal("Base64", ed.Encoding);
        Assert.True(ed.SourceApplication!.IsEmpty);
        Assert.True(ed.TryDecodeBase64(out var decoded));
        Assert.Equal(payload, decoded);
    }

    [Fact]
    public void Ed_base64_plain_and_empty_and_invalid()
    {
        var m = Parse("MSH|^~\\&|A", "OBX|1|ED|DOC||APP^application^pdf^Base64^SGVsbG8=", "OBX|2|ED|DOC||^application^pdf^Base64^", "OBX|3|ED|DOC||^application^pdf^Base64^@@@@");
        Assert.True(m.GetSegment(1).GetField(5).AsEd().TryDecodeBase64(out var hello));
        Assert.Equal("Hello", Encoding.ASCII.GetString(hello));
        Assert.Equal("APP", m.GetSegment(1).GetField(5).AsEd().SourceApplication!.NamespaceId);
        Assert.True(m.GetSegment(2).GetField(5).AsEd().TryDecodeBase64(out var empty));
        Assert.Empty(empty);
        Assert.False(m.GetSegment(3).GetField(5).AsEd().TryDecodeBase64(out _));
    }

    [Theory]
    [InlineData("5.5", 5.5)]
    [InlineData("+12", 12)]
    [InlineData("-0.30", -0.3)]
    [InlineData("007", 7)]
    [InlineData(".5", 0.5)]
    [InlineData(" 42 ", 42)]
    public void Numeric_values_parse_in_invariant_culture(string text, double expected)
    {
        var m = Parse("MSH|^~\\&|A", "OBX|1|NM|X||" + text);
        var nm = m.GetSegment(1).GetField(5).AsNm();
        Assert.True(nm.IsValid);
        Assert.Equal((decimal)expected, nm.Value);
        Assert.Equal(text, nm.Raw);
    }

    [Theory]
    [InlineData("1,5")]
    [InlineData("1e3")]
    [InlineData("1.2.3")]
    [InlineData("abc")]
    [InlineData("+")]
    [InlineData("")]
    public void Invalid_numbers_keep_their_text_without_a_value(string text)
    {
        var m = Parse("MSH|^~\\&|A", "OBX|1|NM|X||" + text);
        var nm = m.GetSegment(1).GetField(5).AsNm();
        Assert.False(nm.IsValid);
        Assert.Equal(text.Length == 0 ? null : text, nm.Raw);
    }

    [Fact]
    public void Structured_numerics_are_read()
    {
        var m = Parse("MSH|^~\\&|A", "OBX|1|SN|X||>^100", "OBX|2|SN|X||^1^:^128", "OBX|3|SN|X||^10^-^20", "OBX|4|SN|X||<=^0.5");
        var gt = m.GetSegment(1).GetField(5).AsSn();
        Assert.Equal(">", gt.Comparator);
        Assert.Equal(100m, gt.Num1);
        Assert.Null(gt.Num2);
        var ratio = m.GetSegment(2).GetField(5).AsSn();
        Assert.Null(ratio.Comparator);
        Assert.Equal(1m, ratio.Num1);
        Assert.Equal(":", ratio.SeparatorSuffix);
        Assert.Equal(128m, ratio.Num2);
        var range = m.GetSegment(3).GetField(5).AsSn();
        Assert.Equal("-", range.SeparatorSuffix);
        Assert.Equal(20m, range.Num2);
        Assert.Equal("<=", m.GetSegment(4).GetField(5).AsSn().Comparator);
    }

    [Fact]
    public void Hd_header_shortcut_drops_trailing_empty_components()
    {
        var m = Parse("MSH|^~\\&|GAM^^|^1.2.3^ISO|A\\S\\B");
        Assert.Equal("GAM", m.SendingApplication);
        Assert.Equal("^1.2.3^ISO", m.SendingFacility);
        Assert.Equal("A^B", m.ReceivingApplication);
        Assert.Equal("1.2.3", m.GetSegment(0).GetField(4).AsHd().UniversalId);
    }
}
