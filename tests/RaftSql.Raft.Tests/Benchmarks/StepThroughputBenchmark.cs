using System.Diagnostics;
using RaftSql.Raft.Tests.Support;
using Xunit.Abstractions;

namespace RaftSql.Raft.Tests.Benchmarks;

/// <summary>
/// Messages per second through Step on a 3-member cluster replicating 64-byte proposals in batches of 16,
/// with the hosts' Ready work (MemoryStorage, apply) included. Prints the figure; asserts only correctness.
/// </summary>
[Trait("Category", "Benchmark")]
public class StepThroughputBenchmark(ITestOutputHelper output)
{
    [Fact]
    public void Step_throughput()
    {
        Run(rounds: 500); // warm-up (JIT)
        var (messages, entries, elapsed, stepTime) = Run(rounds: 8000);
        output.WriteLine($"{messages} messages stepped, {entries} entries committed on 3 members in {elapsed.TotalMilliseconds:F0} ms");
        output.WriteLine($"end to end: {messages / elapsed.TotalSeconds:F0} messages/s, {entries / elapsed.TotalSeconds:F0} entries/s");
        output.WriteLine($"inside Step alone: {messages / stepTime.TotalSeconds:F0} messages/s");
    }

    private static (long Messages, long Entries, TimeSpan Elapsed, TimeSpan StepTime) Run(int rounds)
    {
        var c = new TestCluster(3, cfg => cfg with { CheckQuorum = false });
        c.ElectLeader(1);
        var leader = c[1];
        var payload = new byte[64];
        var queue = new Queue<Message>();
        long messages = 0;
        var stepClock = new Stopwatch();
        var clock = Stopwatch.StartNew();
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < 16; i++) leader.Propose(payload);
            Drain(c, queue);
            while (queue.TryDequeue(out var m))
            {
                var target = c[m.To];
                stepClock.Start();
                target.Step(m);
                stepClock.Stop();
                messages++;
                Drain(c, queue);
            }
            if (round % 64 == 0) c.TickAll(1); // heartbeats too, like a live cluster
        }
        clock.Stop();
        var last = leader.Status.LastIndex;
        Assert.All(c.Hosts.Values, h => Assert.Equal(last, h.AppliedIndex));
        Assert.All(c.Hosts.Values, h => Assert.Equal(rounds * 16, h.StateMachine.Count));
        return (messages, rounds * 16L, clock.Elapsed, stepClock.Elapsed);
    }

    private static void Drain(TestCluster c, Queue<Message> queue)
    {
        foreach (var host in c.Hosts.Values)
            while (host.Raft.HasReady)
                foreach (var m in host.ProcessReady()) queue.Enqueue(m);
    }
}
