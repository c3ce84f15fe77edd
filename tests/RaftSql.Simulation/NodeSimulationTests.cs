using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Xunit.Abstractions;

namespace RaftSql.Simulation;

/// <summary>
/// The whole-node simulator's seeds. The default run covers <see cref="DefaultSeeds"/> seeds in
/// <see cref="Blocks"/> test cases (so the runner shows progress); RAFTSQL_NODESIM_SEEDS=n runs n seeds
/// instead, RAFTSQL_NODESIM_SEED=s runs seed s alone with its full trace.
/// </summary>
[Trait("Category", "Simulation")]
public class NodeSimulationTests(ITestOutputHelper output)
{
    private const int DefaultSeeds = 300;
    private const int Blocks = 10;

    /// <summary>Every continuation runs inline on the seed's one thread (see <see cref="AsyncCompletion"/>).</summary>
    [ModuleInitializer]
    internal static void RunContinuationsInline() => AsyncCompletion.Options = TaskCreationOptions.None;

    [Theory]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(26)] // crashes inside loop batches and a restart
    public void A_seed_gives_the_same_trace_twice(int seed)
    {
        var first = SeedResult.Run(seed);
        var second = SeedResult.Run(seed);
        Assert.True(first.Failure is null, first.Failure);
        Assert.True(second.Failure is null, second.Failure);
        Assert.Equal(first.Events, second.Events);
        Assert.Equal(first.Hash, second.Hash);
        Assert.True(first.Disk.PowerLosses + first.Disk.DiskFull + first.Disk.Flips > 0,
            $"seed {seed} injected too few disk faults to show they replay: {first.Disk.PowerLosses} power losses, {first.Disk.DiskFull} ENOSPC, {first.Disk.Flips} flips");
    }

    public static TheoryData<int> BlockNumbers() => [.. Enumerable.Range(0, Blocks)];

    [Theory]
    [MemberData(nameof(BlockNumbers))]
    public void Seeded_whole_node_clusters_keep_every_promise(int block)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_NODESIM_SEED"), out var single))
        {
            if (block != 0)
                return;
            var result = SeedResult.Run(single, keepTrace: true);
            Assert.True(result.Failure is null, result.Failure);
            output.WriteLine($"seed {single}: {result.Size} nodes, {result.Events} events, {result.Acknowledged} acknowledged appends, {result.Reads} reads: passed");
            return;
        }
        var count = int.TryParse(Environment.GetEnvironmentVariable("RAFTSQL_NODESIM_SEEDS"), out var n) && n > 0 ? n : DefaultSeeds;
        var seeds = new ConcurrentQueue<int>(Enumerable.Range(0, count).Where(s => s % Blocks == block));
        var results = new ConcurrentBag<SeedResult>();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Math.Max(1, Environment.ProcessorCount)).Select(_ => new Thread(() =>
        {
            while (seeds.TryDequeue(out var seed))
                results.Add(SeedResult.Run(seed));
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        var failures = results.Where(r => r.Failure is not null).OrderBy(r => r.Seed).ToList();
        output.WriteLine($"{results.Count} seeds in {clock.Elapsed.TotalSeconds:F1} s, {results.Sum(r => r.VirtualSeconds):F0} virtual s, "
            + $"{results.Sum(r => r.Events)} events, {results.Sum(r => r.Acknowledged)} acknowledged appends, {results.Sum(r => r.Reads)} checked reads, "
            + $"{results.Sum(r => r.CrashPoints)} crashes inside a loop batch ({results.Sum(r => r.SnapshotCrashes)} inside a snapshot install), "
            + $"{results.Sum(r => r.MembershipCycles)} voters taken out (removed or made spares) and back, "
            + $"disk: {results.Sum(r => r.Disk.PowerLosses)} power losses ({results.Sum(r => r.Disk.Lost)} unsynced writes lost, "
            + $"{results.Sum(r => r.Disk.Torn)} torn, {results.Sum(r => r.Disk.Kept)} kept), {results.Sum(r => r.Disk.DiskFull)} ENOSPC, "
            + $"{results.Sum(r => r.Disk.Flips)} bit flips; {failures.Count} failed");
        foreach (var failure in failures)
            output.WriteLine(failure.Failure);
        if (failures.Count > 0)
            Assert.Fail($"{failures.Count} of {results.Count} seeds failed (seeds {string.Join(", ", failures.Select(f => f.Seed))}).\n{failures[0].Failure}");
    }
}
