using RaftSql.Storage;

namespace RaftSql.Tests.Cluster;

[Collection(ClusterTests.Collection)]
public sealed class ElectionDurabilityTests
{
    /// <summary>A single voter wins its election without a vote round, so the Ready that makes it leader carries
    /// its new term and vote together with its first appends: none may leave before that term is durable.</summary>
    [Fact]
    public async Task A_single_voter_sends_no_append_before_the_term_it_won_alone_is_durable()
    {
        await using var cluster = new LocalCluster();
        foreach (var (id, role) in new[] { (1UL, NodeRole.Voter), (2UL, NodeRole.Standby) })
            cluster.Infos[id] = new NodeInfo(id, $"127.0.0.1:{LocalCluster.FreePort()}", role);
        var members = cluster.Infos.Values.ToList();
        var hardState = new HardStateStore(Path.Combine(cluster.DataDirectory(1), "raft"));

        // The fault injector is consulted on the sending thread (node 1's Raft loop) as each message is queued:
        // read what node 1 had made durable at the moment its first message to the standby went out.
        HardState? atFirstSend = null;
        var gate = new Lock();
        cluster.Faults.Observer = (from, to) =>
        {
            if (from != 1 || to != 2)
                return;
            lock (gate)
                atFirstSend ??= hardState.Load();
        };

        var voter = await cluster.StartNodeAsync(1, members);
        await cluster.StartNodeAsync(2, members);
        await Eventually.TrueAsync(() => voter.IsLeader, TimeSpan.FromSeconds(30), "node 1 to lead");
        await Eventually.TrueAsync(() => { lock (gate) return atFirstSend is not null; }, TimeSpan.FromSeconds(30), "node 1's first message to the standby");
        await Eventually.TrueAsync(() => cluster[2].LeaderId == 1, TimeSpan.FromSeconds(30), "the standby to follow node 1");

        // A lone voter never loses its leadership: the term it won is the term it holds now.
        var won = hardState.Load();
        HardState first;
        lock (gate)
            first = atFirstSend!.Value;
        Assert.True(won.Term > 1, $"node 1 should have campaigned past the bootstrap term, holds {won}");
        Assert.Equal(1UL, won.Vote);
        Assert.True(first.Term == won.Term && first.Vote == won.Vote,
            $"node 1 sent its first append to the standby while its durable hard state was {first}; it had won term {won.Term}");
    }
}
