using Dmp.LoadGen;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
return await LoadGenCommand.RunAsync(args, Console.Out, Console.Error, cancel.Token);
