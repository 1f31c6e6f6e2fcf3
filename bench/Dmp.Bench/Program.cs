using BenchmarkDotNet.Running;
using Dmp.Bench;
using Dmp.Bench.Store;

// `compare …` is the quick measurement for scripts; `seed`, `search`, `process` and `inbox-search` measure the store and the gateway
// on synthetic data; anything else goes to BenchmarkDotNet (e.g. --filter '*Parse*').
return args.FirstOrDefault() switch
{
    "compare" => CompareCommand.Run(args[1..], Console.Out, Console.Error),
    "seed" => await SeedCommand.RunAsync(args[1..], Console.Out, Console.Error),
    "search" => await SearchCommand.RunAsync(args[1..], Console.Out, Console.Error),
    "process" => await ProcessCommand.RunAsync(args[1..], Console.Out, Console.Error),
    "inbox-search" => await InboxSearchCommand.RunAsync(args[1..], Console.Out, Console.Error),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(BenchCorpus).Assembly).Run(args);
    return 0;
}
