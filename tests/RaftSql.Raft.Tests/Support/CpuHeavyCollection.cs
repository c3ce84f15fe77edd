namespace RaftSql.Raft.Tests.Support;

/// <summary>The simulation and the benchmark use every core: they run alone, not beside other tests or each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuHeavyCollection
{
    public const string Name = "CPU-heavy";
}
