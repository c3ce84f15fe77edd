using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace RaftSql.Raft.Tests.Simulation;

[Trait("Category", "Simulation")]
[Collection(Support.CpuHeavyCollection.Name)]
public class SimulationTests(ITestOutputHelper output)
{
    private const int DefaultSeeds = 2000;

    [Theory]
    [InlineData(7)]
    [InlineData(1234)]
    public void A_seed_replays_exactly(int seed)
    {
        var first = new ClusterSimulation(seed, trace: true);
        var second = new ClusterSimulation(seed, trace: true);
        first.Run();
        second.Run();
        Assert.Equal(first.Steps, second.Steps);
        Assert.Equal(first.Stats.ToString(), second.Stats.ToString());
        Assert.Equal(first.TraceText, second.TraceText);
    }

    [Fact]
    public void Seeded_clusters_keep_every_safety_property_and_recover_after_healing()
    {
        var single = Environment.GetEnvironmentVariable("RAFTSQL_SIM_SEED");
        if (int.TryParse(single, out var seed))
        {
            var sim = new ClusterSimulation(seed, trace: true);
            try
            {
                sim.Run();
            }
            catch (Exception e)
            {
                Assert.Fail(sim.Describe(e));
            }
            output.WriteLine($"seed {seed}: {sim.ClusterSize} nodes, {sim.Steps} steps, passed; {sim.Stats}");
            return;
        }

        var count = int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_SIM_SEEDS"), out var n) && n > 0 ? n : DefaultSeeds;
        var failures = new ConcurrentBag<(int Seed, string Message)>();
        long steps = 0;
        var stats = new SimulationStats();
        var clock = Stopwatch.StartNew();
        Parallel.For(0, count, s =>
        {
            var sim = new ClusterSimulation(s);
            try
            {
                sim.Run();
            }
            catch (Exception e)
            {
                failures.Add((s, sim.Describe(e)));
            }
            Interlocked.Add(ref steps, sim.Steps);
            stats.Add(sim.Stats);
        });
        output.WriteLine($"{count} seeds, {steps} steps, {clock.Elapsed.TotalSeconds:F1} s, {failures.Count} failed; {stats}");
        if (!failures.IsEmpty)
        {
            var sorted = failures.OrderBy(f => f.Seed).ToList();
            Assert.Fail($"{sorted.Count} of {count} seeds failed (seeds {string.Join(", ", sorted.Take(20).Select(f => f.Seed))}).\n{sorted[0].Message}");
        }
    }
}
