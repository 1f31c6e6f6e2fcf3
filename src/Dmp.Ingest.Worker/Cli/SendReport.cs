using Spectre.Console;

namespace Dmp.Ingest.Worker.Cli;

/// <summary>
/// What `send` prints: one line per message (`file[#n]: MSA|…` as received, or why there is none), a
/// progress bar when many messages go to a terminal, and the totals at the end.
/// </summary>
internal sealed class SendReport(CliContext context, bool quiet)
{
    private ProgressTask? _progress;

    public int Sent { get; private set; }
    public int Accepted { get; private set; }
    public int Rejected { get; private set; }
    /// <summary>Sent, and no ACK was expected (an acknowledgement, MSH-15 NE, or ER with no error).</summary>
    public int NotAnswered { get; private set; }
    /// <summary>An ACK was expected and none came (connection refused, timeout, closed).</summary>
    public int Failed { get; private set; }

    /// <summary>Exit 1 when any message that expected an answer was not accepted.</summary>
    public bool AllAccepted => Rejected == 0 && Failed == 0;

    /// <summary>Whether to draw a progress bar: many messages, and stdout is the terminal itself.</summary>
    public static bool WantsProgress(CliContext context, int messages) =>
        messages >= 10 && ReferenceEquals(context.Stdout, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public void Attach(ProgressTask progress) => _progress = progress;

    public void Answered(string where, string msa, bool accepted)
    {
        Sent++;
        if (accepted)
            Accepted++;
        else
            Rejected++;
        Out($"{where}: {msa}");
    }

    public void NoAckExpected(string where, string reason)
    {
        Sent++;
        NotAnswered++;
        Out($"{where}: sent, no ACK expected ({reason})");
    }

    public void NoAck(string where, string reason, bool sent)
    {
        if (sent)
            Sent++;
        Failed++;
        Error($"{where}: no ACK: {reason}");
    }

    public void Error(string line)
    {
        if (_progress is not null)
            AnsiConsole.WriteLine(line);
        else
            context.Stderr.WriteLine(line);
        Step();
    }

    public void Note(string line)
    {
        if (_progress is not null)
            AnsiConsole.WriteLine(line);
        else
            context.Stderr.WriteLine(line);
    }

    public string Totals(int messages) =>
        $"{messages} messages: {Sent} sent, {Accepted} accepted, {Rejected} rejected, {NotAnswered} not answered (no ACK expected)"
        + (Failed > 0 ? $", {Failed} without the ACK they expected" : "");

    private void Out(string line)
    {
        if (!quiet)
        {
            if (_progress is not null)
                AnsiConsole.WriteLine(line);
            else
                context.Stdout.WriteLine(line);
        }
        Step();
    }

    private void Step() => _progress?.Increment(1);
}
