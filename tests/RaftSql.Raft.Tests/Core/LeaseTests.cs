using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Core;

/// <summary>The leader lease: valid only while a quorum acknowledged within ElectionTicks - LeaseDriftTicks.</summary>
public class LeaseTests
{
    [Fact]
    public void A_leader_holds_the_lease_once_a_quorum_answered_a_heartbeat_of_its_term()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        Assert.False(c[1].LeaseValid); // no heartbeat round answered yet
        c.TickAll(1);
        Assert.True(c[1].LeaseValid);
        Assert.False(c[2].LeaseValid);
    }

    [Theory]
    [InlineData(1, 9)]
    [InlineData(3, 7)]
    [InlineData(0, 10)]
    public void An_isolated_leader_loses_the_lease_after_the_election_timeout_minus_the_drift(int drift, int validTicks)
    {
        var c = new TestCluster(3, cfg => cfg with { LeaseDriftTicks = drift });
        c.ElectLeader(1);
        c.TickAll(1); // a round sent at tick 1 and answered: followers refuse votes until their tick 11
        c.Isolate(1);
        for (var t = 1; t <= validTicks; t++)
        {
            Assert.True(c[1].LeaseValid, $"lease lost after {t} ticks");
            c.TickAll(1);
        }
        Assert.False(c[1].LeaseValid);
    }

    [Fact]
    public void Without_check_quorum_followers_make_no_promise_so_no_leader_holds_a_lease()
    {
        var c = new TestCluster(3, cfg => cfg with { CheckQuorum = false });
        c.ElectLeader(1);
        c.TickAll(3);
        Assert.Equal(RaftState.Leader, c[1].State);
        Assert.False(c[1].LeaseValid);
        Assert.Equal(0UL, c[1].LeaseRound);
    }

    [Fact]
    public void A_new_leader_has_no_lease_before_its_first_entry_commits()
    {
        var c = new TestCluster(3);
        c.Drop = m => m.Type == MessageType.Append;
        c.ElectLeader(1);
        c.TickAll(1);
        Assert.False(c[1].LeaseValid);
        c.Drop = null;
        c.TickAll(1);
        Assert.True(c[1].LeaseValid);
    }

    [Fact]
    public void Sending_TimeoutNow_ends_the_lease_for_the_rest_of_the_term()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.TickAll(1);
        c.Drop = m => m.Type == MessageType.TimeoutNow;
        c[1].TransferLeadership(2);
        c.Stabilize();
        c.TickAll(12); // the transfer is abandoned
        Assert.Equal(RaftState.Leader, c[1].State);
        Assert.False(c[1].LeaseValid);
    }

    [Fact]
    public void A_restarted_voter_does_not_vote_within_an_election_timeout_so_a_lease_it_granted_holds()
    {
        var n = new NodeHarness(2, voters: 3, term: 2);
        var vote = new Message { Type = MessageType.PreVote, From = 3, To = 2, Term = 3, Index = 3, LogTerm = 1 };
        Assert.Empty(n.Step(vote));
        n.Tick(9);
        Assert.Empty(n.Step(vote));
        n.Tick(1);
        Assert.Contains(n.Step(vote), m => m.Type == MessageType.PreVoteResponse && !m.Reject);
    }
}
