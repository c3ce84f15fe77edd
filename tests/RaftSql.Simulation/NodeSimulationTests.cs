using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Xunit.Abstractions;

namespace RaftSql.Simulation;

[Trait("Category", "Simulation")]
public class NodeSimulationTests(ITestOutputHelper output)
{
    private const int DefaultSeeds = 300;

    /// <summary>Every continuation runs inline on the seed's one thread (see <see cref="AsyncCompletion"/>).</summary>
    [ModuleInitializer]
    internal static void RunContinuationsInline() => AsyncCompletion.Options = TaskCreationOptions.None;

    [Theory]
    [InlineData(3)]
    [InlineData(42)]
    public void A_seed_gives_the_same_trace_twice(int seed)
    {
        var (firstHash, firstCount) = RunOne(seed);
        var (secondHash, secondCount) = RunOne(seed);
        Assert.Equal(firstCount, secondCount);
        Assert.Equal(firstHash, secondHash);
    }

    private static (ulong Hash, long Count) RunOne(int seed)
    {
        using var sim = new SimCluster(seed);
        sim.Run();
        return (sim.Trace.Hash, sim.Trace.Count);
    }

    [Fact]
    public void Seeded_whole_node_clusters_lose_no_acknowledged_write_and_end_identical()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_NODESIM_SEED"), out var single))
        {
            using var sim = new SimCluster(single, keepTrace: true);
            try
            {
                sim.Run();
            }
            catch (Exception e)
            {
                Assert.Fail(Describe(sim, e) + "\nFull trace:\n" + string.Join("\n", sim.Trace.All));
            }
            output.WriteLine($"seed {single}: {sim.Size} nodes, {sim.Trace.Count} events, {sim.History.Acknowledged} acknowledged appends, {sim.History.Reads} reads: passed");
            return;
        }
        var count = int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_NODESIM_SEEDS"), out var n) && n > 0 ? n : DefaultSeeds;
        var failures = new ConcurrentBag<(int Seed, string Message)>();
        long events = 0, acked = 0, reads = 0;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, seed =>
        {
            using var sim = new SimCluster(seed);
            try
            {
                sim.Run();
            }
            catch (Exception e)
            {
                failures.Add((seed, Describe(sim, e)));
            }
            Interlocked.Add(ref events, sim.Trace.Count);
            Interlocked.Add(ref acked, sim.History.Acknowledged);
            Interlocked.Add(ref reads, sim.History.Reads);
        });
        var seconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"{count} seeds in {seconds:F1} s ({count / seconds:F1} seeds/s), {events} events, {acked} acknowledged appends, {reads} checked reads, {failures.Count} failed");
        if (!failures.IsEmpty)
        {
            var sorted = failures.OrderBy(f => f.Seed).ToList();
            Assert.Fail($"{sorted.Count} of {count} seeds failed (seeds {string.Join(", ", sorted.Take(30).Select(f => f.Seed))}).\n{sorted[0].Message}");
        }
    }

    private static string Describe(SimCluster sim, Exception e) =>
        $"seed {sim.Seed} ({sim.Size} nodes) failed at {sim.Scheduler.Now / 1000.0:F3} ms: {e}\nForeign thread: {sim.Scheduler.ForeignThread}\nReplay: {sim.ReplayCommand}\nLast events:\n{sim.Trace.Recent}";
}
