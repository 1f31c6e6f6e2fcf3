using Dmp.Ingest.Worker.Cli;

return await GatewayCommandLine.RunAsync(args, Console.Out, Console.Error);
