using System.Text;
using Dmp.Ingest.Worker.OperatorConsole;
using Microsoft.Extensions.DependencyInjection;

namespace Dmp.Ingest.Worker.Tests.OperatorConsole;

/// <summary>The console's pieces without a browser: the field table, raw segments, error positions, the filter form.</summary>
public sealed class ConsolePartsTests
{
    [Theory]
    [InlineData("MSH", 10, "Message Control ID")]
    [InlineData("PID", 3, "Patient Identifier List")]
    [InlineData("PID", 32, "Identity Reliability Code")]
    [InlineData("OBX", 5, "Observation Value")]
    [InlineData("TXA", 12, "Unique Document Number")]
    [InlineData("ZBE", 1, "Movement ID")]
    public void Field_names_come_from_the_data_table(string segment, int field, string name) =>
        Assert.Equal(name, Hl7FieldNames.Default.Name(segment, field));

    [Fact]
    public void Field_table_names_every_segment_the_corpus_relies_on()
    {
        string[] needed = ["MSH", "EVN", "PID", "PD1", "PV1", "PV2", "ORC", "OBR", "OBX", "TXA", "NTE", "AL1", "IAM", "PRT", "ZBE", "ZFA", "ZFD"];
        Assert.Empty(needed.Except(Hl7FieldNames.Default.Segments));
        Assert.Null(Hl7FieldNames.Default.Name("PID", 99));
        Assert.Null(Hl7FieldNames.Default.Name("ZZZ", 1));
    }

    [Fact]
    public void Raw_segments_number_msh_from_its_separator_and_keep_escapes_as_sent()
    {
        var raw = Encoding.ASCII.GetBytes("MSH|^~\\&|APP|FAC|DMP|DMP|20260101||ADT^A01|CTRL-1|P|2.5\rPID|1||123^^^FAC||O\\T\\BRIEN^ANNE\r");

        var segments = RawSegments.Split(raw, new ErrorPosition(2, "PID", 5), Hl7FieldNames.Default);

        Assert.Equal(["MSH", "PID"], segments.Select(s => s.Id));
        var msh = segments[0].Fields;
        Assert.Equal(("|", 1), (msh[0].Value, msh[0].Number));
        Assert.Equal(("^~\\&", 2), (msh[1].Value, msh[1].Number));
        Assert.Equal(("CTRL-1", "Message Control ID"), (msh.Single(f => f.Number == 10).Value, msh.Single(f => f.Number == 10).Name));
        var name = segments[1].Fields.Single(f => f.Number == 5);
        Assert.Equal("O\\T\\BRIEN^ANNE", name.Value);
        Assert.True(name.Failing);
        Assert.True(segments[1].Failing);
        Assert.False(segments[0].Failing);
        Assert.Single(segments.SelectMany(s => s.Fields), f => f.Failing);
    }

    [Theory]
    [InlineData("message: segment 1 (MSH) field 9: ADT^A01 message has no PID segment", 1, "MSH", 9)]
    [InlineData("message: segment 4 field 2: bad", 4, null, 2)]
    [InlineData("PID-7 is not a date", 0, "PID", 7)]
    public void Error_positions_are_read_from_the_stored_error(string error, int index, string? id, int field) =>
        Assert.Equal(new ErrorPosition(index, id, field), RawSegments.Position(error));

    [Fact]
    public void An_error_naming_no_position_highlights_nothing() => Assert.Null(RawSegments.Position("internal error while mapping: NullReferenceException"));

    [Fact]
    public void Filter_form_maps_to_the_store_filter_and_refuses_what_the_api_refuses()
    {
        var (filter, error) = new ConsoleFilters { ControlId = " C-1 ", Status = "failed", Since = "2026-11-23T10:00:00Z", Sender = "" }.ToInboxFilter();
        Assert.Null(error);
        Assert.Equal("C-1", filter!.ControlId);
        Assert.Equal("failed", filter.Status);
        Assert.Null(filter.Sender);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero), filter.Since);

        Assert.Null(new ConsoleFilters { Status = "bogus" }.ToInboxFilter().Filter);
        Assert.Null(new ConsoleFilters { Since = "yesterday-ish" }.ToInboxFilter().Filter);
        Assert.Equal("?controlId=C%201&status=failed&cursor=abc", new ConsoleFilters { ControlId = "C 1", Status = "failed" }.Query("abc"));
        var search = new ConsoleFilters { Patient = " 1.2.250.1.213.1.4.8|277076322082910 ", Type = "adt", Document = "urn:oid:1.2.3", Until = "2026-11-24T00:00:00Z" }.ToInboxFilter().Filter!;
        Assert.Equal(("1.2.250.1.213.1.4.8", "277076322082910"), (search.PatientSystem, search.PatientValue));
        Assert.Equal("ADT", search.Type);
        Assert.Equal("1.2.3", search.Document);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero), search.Until);
        Assert.Null(new ConsoleFilters { Type = "ADT^^" }.ToInboxFilter().Filter);
    }

    [Theory]
    [InlineData("/console/messages?status=failed", "/console/messages?status=failed")]
    [InlineData("https://elsewhere.example/console", "/console/")]
    [InlineData("//elsewhere.example/console", "/console/")]
    [InlineData("/api/messages", "/console/")]
    [InlineData(null, "/console/")]
    public void Return_addresses_stay_inside_the_console(string? asked, string expected) =>
        Assert.Equal(expected, ConsoleHosting.LocalReturn(asked));
}

/// <summary>The dashboard's ACK latency from the `dmp.mllp.ack.duration` histogram, through a real MeterListener.</summary>
public sealed class AckLatencyTests
{
    [Fact]
    public void Latency_percentiles_come_from_this_gateways_ack_duration_histogram_and_none_is_no_data()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var another = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var latency = new AckLatency(TimeProvider.System, meters);
        Assert.Null(latency.Percentiles());

        var meter = meters.Create(new System.Diagnostics.Metrics.MeterOptions(AckLatency.MeterName));
        var histogram = meter.CreateHistogram<double>(AckLatency.InstrumentName, "s");
        for (var i = 0; i < 1000; i++)
            histogram.Record(i < 900 ? 0.001 : 2.0);
        meter.CreateHistogram<double>("dmp.something.else", "s").Record(99);
        // Another gateway in the same process (its own meter factory), and a meter made outside any: not this dashboard's.
        another.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>().Create(new System.Diagnostics.Metrics.MeterOptions(AckLatency.MeterName))
            .CreateHistogram<double>(AckLatency.InstrumentName, "s").Record(50);
        using var loose = new System.Diagnostics.Metrics.Meter(AckLatency.MeterName);
        loose.CreateHistogram<double>(AckLatency.InstrumentName, "s").Record(50);

        var (p50, p99, count) = latency.Percentiles()!.Value;
        Assert.Equal(1000, count);
        Assert.Equal(1, p50);
        Assert.Equal(2000, p99);
    }
}
