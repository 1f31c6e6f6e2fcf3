using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Mapping.Hl7v2;
using Spectre.Console;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>
/// `send FILE… --host H --port P`: an MLLP client. Batches and multi-message files are split; each
/// message is sent and its ACK awaited (timeout, retries — the gateway stores a resend once) unless
/// none will come (acknowledgements, MSH-15 NE); one line per message `file[#n]: MSA|…`; totals at
/// the end; exit 1 when any message that expected an answer was not accepted.
/// </summary>
public static class SendVerb
{
    public static Command Create(CliContext context)
    {
        var files = new Argument<string[]>("FILE") { Description = "HL7 v2 files (one message, several, or a FHS/BHS batch)", Arity = ArgumentArity.OneOrMore };
        var host = new Option<string>("--host") { Description = "MLLP host", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "MLLP port", DefaultValueFactory = _ => 2575 };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for each ACK", DefaultValueFactory = _ => 30 };
        var retries = new Option<int>("--retries") { Description = "resends of a message after a timeout, a refused or lost connection (waits 0.5 s, 1 s, 2 s… between)", DefaultValueFactory = _ => 2 };
        var tls = new Option<bool>("--tls") { Description = "connect with TLS (implied by any other --tls-* option)" };
        var tlsCa = new Option<string?>("--tls-ca") { Description = "a CA certificate (PEM) that signs the server's certificate" };
        var tlsInsecure = new Option<bool>("--tls-insecure") { Description = "accept any server certificate (tests only)" };
        var tlsServerName = new Option<string?>("--tls-server-name") { Description = "the name expected in the server certificate (default: --host)" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "client certificate for mutual TLS: PEM (with --tls-key) or PKCS#12" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "the client certificate's PEM private key" };
        var quiet = new Option<bool>("--quiet") { Description = "print only the summary" };
        var command = new Command("send", "Send HL7 v2 messages over MLLP and print each ACK's MSA line")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        foreach (var option in new Option[] { host, port, timeout, retries, tls, tlsCa, tlsInsecure, tlsServerName, tlsCert, tlsKey, quiet })
            command.Add(option);
        command.Add(files);
        command.SetAction(async (result, ct) =>
        {
            if (!ConfigurationOverrides.TryCollect(result.UnmatchedTokens, out _, out var usage))
                return Usage(context, usage!);
            var p = result.GetValue(port);
            if (p is < 1 or > 65535)
                return Usage(context, "--port must be from 1 to 65535");
            var seconds = result.GetValue(timeout);
            if (seconds <= 0 || double.IsNaN(seconds) || seconds > int.MaxValue / 1000)
                return Usage(context, "--timeout must be a positive number of seconds");
            if (result.GetValue(retries) < 0)
                return Usage(context, "--retries must be 0 or more");
            var certPath = result.GetValue(tlsCert);
            var keyPath = result.GetValue(tlsKey);
            var caPath = result.GetValue(tlsCa);
            var insecure = result.GetValue(tlsInsecure);
            if (keyPath is not null && certPath is null)
                return Usage(context, "--tls-key needs --tls-cert (the certificate the key belongs to)");
            if (insecure && caPath is not null)
                return Usage(context, "--tls-insecure and --tls-ca exclude each other");
            if (caPath is not null && ReadCertificateError(caPath, path => X509CertificateLoader.LoadCertificateFromFile(path).Dispose()) is { } caError)
            {
                context.Stderr.WriteLine($"{caPath}: cannot read the CA certificate: {caError.Message}");
                return caError.ExitCode;
            }
            X509Certificate2? clientCert = null;
            if (certPath is not null)
            {
                var certError = ReadCertificateError(certPath, path =>
                {
                    if (keyPath is not null)
                    {
                        using var pem = X509Certificate2.CreateFromPemFile(path, keyPath);
                        clientCert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
                    }
                    else
                    {
                        clientCert = X509CertificateLoader.LoadPkcs12FromFile(path, null);
                    }
                }, keyPath);
                if (certError is not null)
                {
                    context.Stderr.WriteLine($"{certPath}: cannot read the client certificate: {certError.Message}");
                    return certError.ExitCode;
                }
            }
            // Any TLS option means TLS: a CA or a client certificate given for a plain connection would be ignored silently.
            var useTls = result.GetValue(tls) || clientCert is not null || caPath is not null || insecure || result.GetValue(tlsServerName) is not null;
            var settings = new SendSettings(result.GetValue(host)!, p, TimeSpan.FromSeconds(seconds), result.GetValue(retries),
                new MllpClientTls(useTls, result.GetValue(tlsServerName), clientCert, caPath, insecure),
                result.GetValue(quiet));
            try
            {
                return await RunAsync(context, result.GetValue(files)!, settings, ct);
            }
            finally
            {
                clientCert?.Dispose();
            }
        });
        return command;
    }

    internal sealed record SendSettings(string Host, int Port, TimeSpan Timeout, int Retries, MllpClientTls Tls, bool Quiet);

    private sealed record FileError(int ExitCode, string Message);

    /// <summary>Runs a certificate load; a missing file is exit 66, a file that is not a certificate 65.</summary>
    private static FileError? ReadCertificateError(string path, Action<string> load, string? keyPath = null)
    {
        string[] needed = keyPath is null ? [path] : [path, keyPath];
        foreach (var file in needed)
            if (!File.Exists(file))
                return new FileError(ExitCodes.NoInput, $"{file}: no such file");
        try
        {
            load(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new FileError(ExitCodes.NoInput, e.Message);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return new FileError(ExitCodes.DataError, e.Message);
        }
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(5000, 250 * (1 << Math.Min(attempt, 5))));

    private static async Task<int> RunAsync(CliContext context, string[] files, SendSettings settings, CancellationToken ct)
    {
        // Read and split everything first: a bad file stops the run before anything is sent.
        // Each message with how the output names it: the file, and `#n` when the file holds several.
        var messages = new List<(string Where, ReadOnlyMemory<byte> Bytes)>();
        foreach (var file in files)
        {
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(file, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                context.Stderr.WriteLine($"{file}: cannot read: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message)}");
                return ExitCodes.NoInput;
            }
            var batch = Hl7Batch.Split(bytes);
            if (batch.Error is { } error)
            {
                context.Stderr.WriteLine($"{file}: {error}");
                return ExitCodes.DataError;
            }
            for (var i = 0; i < batch.Messages.Count; i++)
                messages.Add((batch.Messages.Count == 1 ? file : $"{file}#{i + 1}", WithCarriageReturns(batch.Messages[i])));
        }

        var report = new SendReport(context, settings.Quiet);
        await using var connection = new SendConnection(settings);
        try
        {
            if (SendReport.WantsProgress(context, messages.Count))
            {
                await AnsiConsole.Progress().AutoClear(true).HideCompleted(true)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress =>
                    {
                        report.Attach(progress.AddTask($"sending {messages.Count} messages", maxValue: messages.Count));
                        await SendAllAsync(messages, connection, settings, report, ct);
                    });
            }
            else
            {
                await SendAllAsync(messages, connection, settings, report, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            report.Note("interrupted");
        }
        if (messages.Count > 1 || settings.Quiet)
            context.Stderr.WriteLine(report.Totals(messages.Count));
        return report.AllAccepted && report.Sent == messages.Count ? ExitCodes.Ok : ExitCodes.NotAccepted;
    }

    private static async Task SendAllAsync(List<(string Where, ReadOnlyMemory<byte> Bytes)> messages, SendConnection connection, SendSettings settings, SendReport report, CancellationToken ct)
    {
        foreach (var (where, bytes) in messages)
        {
            var message = Hl7Message.Parse(bytes).Message;
            var controlId = message?.ControlId;
            // No answer will come: an acknowledgement (ACK, ZAM, MCF) or MSH-15 NE. MSH-15 ER answers only an error.
            var unanswered = message is null ? null : UnansweredMessages.Reason(message);
            if (unanswered is not null || message?.AcceptAckType == "ER")
            {
                byte[]? errorAck = null;
                try
                {
                    var client = await connection.OpenAsync(ct);
                    await client.WriteFrameAsync(bytes, ct);
                    connection.SentWithoutAnswer(controlId);
                    if (unanswered is null)
                    {
                        try
                        {
                            errorAck = await connection.ReadAnswerAsync(controlId, TimeSpan.FromSeconds(Math.Min(2, settings.Timeout.TotalSeconds)), ct);
                        }
                        catch (TimeoutException)
                        {
                            errorAck = null; // no error ACK: accepted.
                        }
                    }
                }
                catch (Exception e) when (e is SendFailure or IOException or System.Net.Sockets.SocketException)
                {
                    report.NoAck(where, $"not sent: {e.Message}", sent: false);
                    await connection.DisposeAsync();
                    continue;
                }
                if (errorAck is null)
                {
                    report.NoAckExpected(where, unanswered ?? "MSH-15 ER, and no error");
                    continue;
                }
                var errorReply = Hl7Message.Parse(errorAck) is { Message: { } parsed } ? AckBuilder.ReadAck(parsed) : null;
                report.Answered(where, MsaLine(errorAck, errorReply), errorReply?.IsAccepted == true);
                continue;
            }
            byte[]? answer = null;
            string? failure = null;
            var sent = false;
            for (var attempt = 0; attempt <= settings.Retries && answer is null; attempt++)
            {
                if (attempt > 0)
                    await Task.Delay(Backoff(attempt), ct);
                var retry = true;
                try
                {
                    var client = await connection.OpenAsync(ct);
                    await client.WriteFrameAsync(bytes, ct);
                    sent = true;
                    answer = await connection.ReadAnswerAsync(controlId, settings.Timeout, ct);
                    failure = answer is null
                        ? $"{connection.Endpoint} closed the connection before an ACK came{(connection.CloseReason is { } reason ? $" ({reason})" : "")}{SendConnection.ClosedHint(settings.Tls)}"
                        : null;
                }
                catch (SendFailure e)
                {
                    failure = e.Message;
                    retry = e.Retry;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
                {
                    failure = e is TimeoutException ? $"{connection.Endpoint} sent no ACK: {e.Message}" : $"{connection.Endpoint}: {e.Message}";
                }
                if (answer is null)
                    await connection.DisposeAsync();
                if (!retry)
                    break;
            }
            if (answer is null)
            {
                report.NoAck(where, failure ?? "no answer", sent);
                continue;
            }
            var reply = Hl7Message.Parse(answer) is { Message: { } ack } ? AckBuilder.ReadAck(ack) : null;
            report.Answered(where, MsaLine(answer, reply), reply?.IsAccepted == true);
        }
    }

    /// <summary>
    /// Segments end with CR on the wire (HL7 v2 §2.5.4.1); files often end lines with LF or CRLF, and
    /// peers that split on CR alone would see one segment. Other bytes are sent as they are.
    /// </summary>
    internal static ReadOnlyMemory<byte> WithCarriageReturns(ReadOnlyMemory<byte> message)
    {
        var span = message.Span;
        if (span.IndexOf((byte)'\n') < 0)
            return message;
        var output = new List<byte>(span.Length);
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] == (byte)'\n')
            {
                if (i == 0 || span[i - 1] != (byte)'\r')
                    output.Add((byte)'\r');
                continue;
            }
            output.Add(span[i]);
        }
        return output.ToArray();
    }

    private static string MsaLine(byte[] answer, AckReply? reply)
    {
        var text = Encoding.UTF8.GetString(answer);
        foreach (var line in text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
            if (line.StartsWith("MSA", StringComparison.Ordinal))
                return line;
        return reply is null ? "no MSA segment in the answer" : $"MSA|{reply.RawCode}|{reply.AcknowledgedControlId}";
    }

    private static int Usage(CliContext context, string message)
    {
        context.Stderr.WriteLine($"error: {message}");
        return ExitCodes.Usage;
    }
}
