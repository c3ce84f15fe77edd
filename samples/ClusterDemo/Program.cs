using ClusterDemo;

// Usage: dotnet run --project samples/ClusterDemo [first port, default 9001]
var firstPort = args.Length > 0 && int.TryParse(args[0], out var port) ? port : 9001;
await new ClusterWalkthrough(Console.Out, [firstPort, firstPort + 1, firstPort + 2]).RunAsync();
