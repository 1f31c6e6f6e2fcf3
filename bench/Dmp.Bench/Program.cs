using BenchmarkDotNet.Running;
using Dmp.Bench;

// `compare …` is the quick measurement for scripts; anything else goes to BenchmarkDotNet (e.g. --filter '*Parse*').
if (args.Length > 0 && args[0] == "compare")
    return CompareCommand.Run(args[1..], Console.Out, Console.Error);

BenchmarkSwitcher.FromAssembly(typeof(BenchCorpus).Assembly).Run(args);
return 0;
