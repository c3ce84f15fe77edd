using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Core;

/// <summary>ReadIndex (thesis 6.4): batched confirmation by one heartbeat round, forwarding from followers.</summary>
public class ReadIndexTests
{
    private static List<Message> HeartbeatsQueued(TestCluster c) => c.Queued.Where(m => m.Type == MessageType.Heartbeat).ToList();

    [Fact]
    public void Reads_waiting_together_are_confirmed_by_one_heartbeat_round()
    {
        var c = new TestCluster(3, config => config with { MaxReadRoundsInFlight = 1 });
        c.ElectLeader(1);
        c.Propose(1, "x");
        var commit = c[1].Status.Commit;
        c.ClearQueue();
        Assert.True(c[1].ReadIndex(1));
        c.ProcessAll();
        Assert.Equal(2, HeartbeatsQueued(c).Count); // one heartbeat per follower
        Assert.True(c[1].ReadIndex(2));
        Assert.True(c[1].ReadIndex(3));
        c.ProcessAll();
        Assert.Equal(2, HeartbeatsQueued(c).Count); // the later reads wait for the next round

        c.Stabilize();
        Assert.Equal([1UL, 2UL, 3UL], c.Hosts[1].ReadStates.Select(r => r.RequestId).Order());
        Assert.All(c.Hosts[1].ReadStates, r => Assert.Equal(commit, r.Index));
        Assert.Equal(4, c.Delivered.Count(m => m.Type == MessageType.Heartbeat)); // two rounds in all
    }

    [Fact]
    public void Rounds_overlap_up_to_the_limit_and_later_reads_share_the_next_one()
    {
        var c = new TestCluster(3, config => config with { MaxReadRoundsInFlight = 2 });
        c.ElectLeader(1);
        c.Propose(1, "x");
        c.ClearQueue();
        Assert.True(c[1].ReadIndex(1));
        Assert.True(c[1].ReadIndex(2)); // its own round, sent after it arrived, while the first is in flight
        Assert.True(c[1].ReadIndex(3));
        Assert.True(c[1].ReadIndex(4));
        c.ProcessAll();
        Assert.Equal(4, HeartbeatsQueued(c).Count); // two rounds in flight; reads 3 and 4 wait

        c.Stabilize();
        Assert.Equal([1UL, 2UL, 3UL, 4UL], c.Hosts[1].ReadStates.Select(r => r.RequestId).Order());
        Assert.Equal(6, c.Delivered.Count(m => m.Type == MessageType.Heartbeat)); // reads 3 and 4 shared the third round
    }

    [Fact]
    public void A_read_is_not_answered_without_a_quorum()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Isolate(1);
        c[1].ReadIndex(7);
        c.TickAll(5);
        Assert.Empty(c.Hosts[1].ReadStates);
        c.Heal();
        c.TickAll(1);
        Assert.Equal(7UL, Assert.Single(c.Hosts[1].ReadStates).RequestId);
    }

    [Fact]
    public void A_follower_forwards_its_read_to_the_leader_and_gets_the_leaders_commit_index()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Propose(1, "x");
        Assert.True(c[2].ReadIndex(42));
        c.Stabilize();
        var read = Assert.Single(c.Hosts[2].ReadStates);
        Assert.Equal((42UL, c[1].Status.Commit), (read.RequestId, read.Index));
    }

    [Fact]
    public void A_member_without_a_leader_refuses_the_read()
    {
        var n = new NodeHarness(2, voters: 3);
        Assert.False(n.Node.ReadIndex(1));
    }

    [Fact]
    public void A_new_leader_answers_reads_only_after_its_first_entry_commits()
    {
        var c = new TestCluster(3);
        c.Drop = m => m.Type == MessageType.Append;
        c.ElectLeader(1);
        c[1].ReadIndex(5);
        c.TickAll(3);
        Assert.Empty(c.Hosts[1].ReadStates);
        c.Drop = null;
        c.TickAll(2);
        var read = Assert.Single(c.Hosts[1].ReadStates);
        Assert.True(read.Index >= c[1].Status.LastIndex - 0);
    }

    [Fact]
    public void A_single_voter_answers_reads_at_once()
    {
        var c = new TestCluster(1);
        c.TickUntilLeader();
        c[1].ReadIndex(9);
        c.ProcessAll();
        Assert.Equal(9UL, Assert.Single(c.Hosts[1].ReadStates).RequestId);
    }

    [Fact]
    public void A_leader_that_steps_down_fails_its_pending_reads_at_once_local_and_forwarded()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Propose(1, "x");
        c.Drop = m => m.Type == MessageType.HeartbeatResponse; // no round is confirmed
        c[1].ReadIndex(9);
        c[2].ReadIndex(7); // forwarded to the leader
        c.Stabilize();
        Assert.Empty(c.Hosts[1].ReadStates);
        Assert.Empty(c.Hosts[2].ReadStates);

        c.Campaign(3); // 1 learns a higher term and steps down
        Assert.NotEqual(RaftState.Leader, c[1].State);
        var local = Assert.Single(c.Hosts[1].ReadStates);
        Assert.Equal(new ReadState(9, 0, Rejected: true), local);
        var forwarded = Assert.Single(c.Hosts[2].ReadStates);
        Assert.Equal(new ReadState(7, 0, Rejected: true), forwarded);
    }

    [Fact]
    public void A_member_that_is_not_the_leader_refuses_a_forwarded_read_at_once()
    {
        var n = new NodeHarness(1, voters: 3, term: 2);
        var answer = n.Step(new Message { Type = MessageType.ReadIndex, From = 2, To = 1, Term = 2, Context = 5 });
        var response = Assert.Single(answer);
        Assert.Equal(MessageType.ReadIndexResponse, response.Type);
        Assert.True(response.Reject);
        Assert.Equal(5UL, response.Context);
    }
}
