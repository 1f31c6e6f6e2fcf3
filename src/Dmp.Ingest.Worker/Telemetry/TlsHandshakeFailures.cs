using System.Diagnostics.Metrics;

namespace Dmp.Ingest.Worker.Telemetry;

/// <summary>
/// Failed TLS handshakes, as Kestrel itself measures them: its `kestrel.tls_handshake.duration` carries `error.type` when a
/// handshake fails (a client that does not speak TLS, an untrusted or missing client certificate, a protocol mismatch), on
/// the MLLP and the HTTPS listener alike. Only this host's Kestrel is listened to (its meter comes from the same factory).
/// </summary>
public static class TlsHandshakeFailures
{
    public const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";
    public const string HandshakeInstrument = "kestrel.tls_handshake.duration";

    public static MeterListener Listen(IMeterFactory meters, Action failed)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == KestrelMeter && instrument.Name == HandshakeInstrument && ReferenceEquals(instrument.Meter.Scope, meters))
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "error.type")
                {
                    failed();
                    return;
                }
            }
        });
        listener.Start();
        return listener;
    }
}
