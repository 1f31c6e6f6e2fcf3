using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Dmp.Ingest.Worker.Mllp;
using Dmp.Mapping.Hl7v2;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>
/// `send FILE… --host H --port P`: an MLLP client. Batches and multi-message files are split; each
/// message is sent and its ACK awaited (timeout, retries — the gateway stores a resend once); each
/// MSA line is printed; exit 1 when any message was not accepted.
/// </summary>
public static class SendVerb
{
    public static Command Create(CliContext context)
    {
        var files = new Argument<string[]>("FILE") { Description = "HL7 v2 files (one message, several, or a FHS/BHS batch)", Arity = ArgumentArity.OneOrMore };
        var host = new Option<string>("--host") { Description = "MLLP host", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "MLLP port", DefaultValueFactory = _ => 2575 };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for each ACK", DefaultValueFactory = _ => 30 };
        var retries = new Option<int>("--retries") { Description = "resends of a message after a timeout or a lost connection", DefaultValueFactory = _ => 2 };
        var tls = new Option<bool>("--tls") { Description = "connect with TLS" };
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
            if (seconds <= 0)
                return Usage(context, "--timeout must be positive");
            X509Certificate2? clientCert = null;
            if (result.GetValue(tlsCert) is { } certPath)
            {
                try
                {
                    clientCert = result.GetValue(tlsKey) is { } keyPath
                        ? X509CertificateLoader.LoadPkcs12(X509Certificate2.CreateFromPemFile(certPath, keyPath).Export(X509ContentType.Pkcs12), null)
                        : X509CertificateLoader.LoadPkcs12FromFile(certPath, null);
                }
                catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException)
                {
                    context.Stderr.WriteLine($"{certPath}: cannot read the client certificate: {e.Message}");
                    return ExitCodes.NoInput;
                }
            }
            var settings = new SendSettings(result.GetValue(host)!, p, TimeSpan.FromSeconds(seconds), Math.Max(0, result.GetValue(retries)),
                new MllpClientTls(result.GetValue(tls) || clientCert is not null, result.GetValue(tlsServerName), clientCert, result.GetValue(tlsCa), result.GetValue(tlsInsecure)),
                result.GetValue(quiet));
            return await RunAsync(context, result.GetValue(files)!, settings, ct);
        });
        return command;
    }

    private sealed record SendSettings(string Host, int Port, TimeSpan Timeout, int Retries, MllpClientTls Tls, bool Quiet);

    private static async Task<int> RunAsync(CliContext context, string[] files, SendSettings settings, CancellationToken ct)
    {
        // Read and split everything first: a bad file stops the run before anything is sent.
        var messages = new List<(string File, int Index, ReadOnlyMemory<byte> Bytes)>();
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
                messages.Add((file, i + 1, batch.Messages[i]));
        }

        int accepted = 0, notAccepted = 0;
        MllpClient? client = null;
        var progressEvery = messages.Count >= 50 ? Math.Max(10, messages.Count / 20) : int.MaxValue;
        try
        {
            for (var n = 0; n < messages.Count; n++)
            {
                var (file, index, bytes) = messages[n];
                var where = messages.Count == files.Length ? file : $"{file} message {index}";
                byte[]? answer = null;
                string? failure = null;
                // Enhanced mode: MSH-15 NE asks for no accept ACK, ER for one only on error.
                var acceptAck = Hl7Message.Parse(bytes).Message?.AcceptAckType;
                if (acceptAck is "NE" or "ER")
                {
                    try
                    {
                        client ??= await MllpClient.ConnectAsync(settings.Host, settings.Port, settings.Tls, ct);
                        await client.WriteFrameAsync(bytes, ct);
                        answer = acceptAck == "ER" ? await client.ReadFrameAsync(TimeSpan.FromSeconds(2), ct).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default) : null;
                    }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
                    {
                        notAccepted++;
                        context.Stderr.WriteLine($"{where}: not sent: {e.Message}");
                        continue;
                    }
                    if (answer is null)
                    {
                        accepted++;
                        if (!settings.Quiet)
                            context.Stdout.WriteLine($"{where}: sent; no ACK requested (MSH-15 {acceptAck})");
                        continue;
                    }
                }
                for (var attempt = 0; attempt <= settings.Retries && answer is null; attempt++)
                {
                    try
                    {
                        client ??= await MllpClient.ConnectAsync(settings.Host, settings.Port, settings.Tls, ct);
                        answer = await client.SendAsync(bytes, settings.Timeout, ct);
                        failure = answer is null ? "the connection closed before an ACK came" : null;
                    }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException or System.Security.Authentication.AuthenticationException)
                    {
                        failure = e.Message;
                    }
                    if (answer is null && client is not null)
                    {
                        await client.DisposeAsync();
                        client = null;
                    }
                }
                if (answer is null)
                {
                    notAccepted++;
                    context.Stderr.WriteLine($"{where}: no ACK: {failure}");
                    continue;
                }
                var reply = Hl7Message.Parse(answer) is { Message: { } ack } ? AckBuilder.ReadAck(ack) : null;
                if (reply?.IsAccepted == true)
                    accepted++;
                else
                    notAccepted++;
                if (!settings.Quiet)
                    context.Stdout.WriteLine(MsaLine(answer, reply));
                if ((n + 1) % progressEvery == 0)
                    context.Stderr.WriteLine($"sent {n + 1}/{messages.Count} ({accepted} accepted, {notAccepted} not)");
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            context.Stderr.WriteLine("interrupted");
        }
        finally
        {
            if (client is not null)
                await client.DisposeAsync();
        }
        if (messages.Count > 1 || settings.Quiet)
            context.Stderr.WriteLine($"{messages.Count} sent, {accepted} accepted, {notAccepted} not accepted");
        return notAccepted == 0 && accepted == messages.Count ? ExitCodes.Ok : ExitCodes.NotAccepted;
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
