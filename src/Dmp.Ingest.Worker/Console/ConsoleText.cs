namespace Dmp.Ingest.Worker.OperatorConsole;

/// <summary>The console's labels: ConsoleText.resx (English) and ConsoleText.fr.resx (French), read through IStringLocalizer.</summary>
public sealed class ConsoleText
{
}
