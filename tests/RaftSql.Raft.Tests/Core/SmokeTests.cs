using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Core;

public class SmokeTests
{
    [Fact]
    public void Three_nodes_elect_a_leader_and_replicate()
    {
        var c = new TestCluster(3);
        var leader = c.TickUntilLeader().Id;
        Assert.True(c.Propose(leader, "x").Accepted);
        foreach (var h in c.Hosts.Values) Assert.Equal("x", System.Text.Encoding.UTF8.GetString(Assert.Single(h.StateMachine).Data.Span));
    }
}
