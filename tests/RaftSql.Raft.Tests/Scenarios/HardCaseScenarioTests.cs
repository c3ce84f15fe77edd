using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Scenarios;

/// <summary>The known hard cases, each played out step by step on a deterministic cluster.</summary>
public class HardCaseScenarioTests
{
    [Fact]
    public void A_partitioned_old_leader_rejoins_as_follower_and_loses_its_uncommitted_writes()
    {
        var c = new TestCluster(5);
        c.ElectLeader(1);
        c.Propose(1, "committed");
        c.Isolate(1);
        var orphan = c.Propose(1, "orphan");
        Assert.True(orphan.Accepted);

        c.Campaign(2);
        Assert.Equal(RaftState.Leader, c[2].State);
        var replacement = c.Propose(2, "new");
        Assert.Equal(replacement.Index, c[2].Status.Commit);
        Assert.Equal(RaftState.Leader, c[1].State); // it does not know yet

        c.Heal();
        c.TickAll(3);
        Assert.Equal(RaftState.Follower, c[1].State);
        Assert.Equal(2UL, c[1].Leader);
        var old = c.Hosts[1];
        Assert.Contains(old.StateMachine, e => e.Data.Span.SequenceEqual("new"u8));
        Assert.DoesNotContain(old.StateMachine, e => e.Data.Span.SequenceEqual("orphan"u8));
        Assert.All(c.Hosts.Values, h => Assert.Equal(c.Hosts[2].StateMachine.Select(e => e.Index), h.StateMachine.Select(e => e.Index)));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public void A_leader_removed_by_its_own_change_hands_over_and_the_rest_elect_a_leader(int voters)
    {
        var c = new TestCluster(voters);
        c.ElectLeader(1);
        var removal = c[1].ProposeConfChange(ConfChange.Remove(1));
        Assert.True(removal.Accepted);
        c.Stabilize();
        // Committed and applied: the old leader no longer takes writes, and hands over.
        Assert.Equal(ProposeStatus.NotLeader, c[1].Propose(new byte[] { 1 }).Status);
        c.TickAll(30);
        Assert.NotEqual(RaftState.Leader, c[1].State);
        var leader = c.LeaderHost!;
        Assert.NotEqual(1UL, leader.Id);
        Assert.False(leader.Raft.Status.Membership.Contains(1));
        var write = c.Propose(leader.Id, "after removal");
        Assert.Equal(write.Index, leader.Raft.Status.Commit);
        c.TickAll(50);
        Assert.Equal(leader.Id, c.LeaderHost!.Id); // the removed member does not disturb the new leader
    }

    [Fact]
    public void A_removed_leader_with_the_longest_log_takes_over_again_to_finish_the_handover()
    {
        // Two voters. The survivor never hears that the removal committed, and the removed leader holds
        // an entry the survivor lacks, so it will not vote for the survivor: it must lead once more.
        var c = new TestCluster(2);
        c.ElectLeader(1);
        var removal = c[1].ProposeConfChange(ConfChange.Remove(1));
        var extra = c[1].Propose("extra"u8.ToArray());
        c.Drop = m => m.From == 1 && m.To == 2 && (m.Commit >= removal.Index || m.Entries.Any(e => e.Index == extra.Index));
        c.Stabilize();
        Assert.Equal(removal.Index, c.Hosts[1].AppliedIndex);
        Assert.True(c[2].Status.Commit < removal.Index);
        c.Hosts[1].Crash();
        c.Hosts[1].Start();
        c.Drop = null;
        c.TickAll(100);
        var leader = c.LeaderHost!;
        Assert.Equal(2UL, leader.Id);
        Assert.Equal([2UL], leader.Raft.Status.Membership.Voters);
        Assert.Contains(leader.StateMachine, e => e.Index == extra.Index);
    }

    [Fact]
    public void A_follower_that_missed_compacted_entries_catches_up_from_a_snapshot()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Isolate(3);
        for (var i = 0; i < 10; i++) c.Propose(1, $"w{i}");
        c.Hosts[1].Compact();
        Assert.True(c.Hosts[1].Storage.FirstIndex > c[3].Status.LastIndex + 1);

        var firstTry = true;
        c.Drop = m => m.Type == MessageType.Snapshot && firstTry && !(firstTry = false); // the first snapshot is lost
        c.Heal();
        c.TickAll(5);
        Assert.Equal(2, c.Delivered.Count(m => m.Type == MessageType.Snapshot) + 1);
        var follower = c.Hosts[3];
        Assert.Equal(c.Hosts[1].Storage.Snapshot().Index, follower.Storage.Snapshot().Index);
        Assert.Equal(c.Hosts[1].StateMachine.Select(e => e.Index), follower.StateMachine.Select(e => e.Index));
        var write = c.Propose(1, "after snapshot");
        Assert.Equal(write.Index, follower.AppliedIndex);
        Assert.Equal(ProgressState.Replicate, c[1].Status.Progress[3].State);
    }

    [Fact]
    public void A_stale_snapshot_is_ignored_and_answered_so_the_leader_resumes()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Propose(1, "x");
        var follower = c[2];
        var commit = follower.Status.Commit;
        follower.Step(new Message
        {
            Type = MessageType.Snapshot, From = 1, To = 2, Term = follower.Term,
            Snapshot = new SnapshotMetadata(2, 1, c[1].Status.Membership),
        });
        var ready = follower.GetReady();
        Assert.Null(ready.Snapshot);
        var answer = Assert.Single(ready.Messages);
        Assert.Equal((MessageType.AppendResponse, commit, false), (answer.Type, answer.Index, answer.Reject));
        follower.Advance(ready);
    }

    [Fact]
    public void A_transfer_to_a_target_that_crashes_is_abandoned_after_an_election_timeout()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Hosts[3].Crash();
        c.Isolate(3);
        c.Propose(1, "target lags");
        c[1].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(ProposeStatus.TransferInProgress, c[1].Propose(new byte[] { 1 }).Status);
        Assert.False(c[1].LeaseValid);
        c.TickAll(10);
        Assert.Equal(RaftState.Leader, c[1].State);
        Assert.True(c.Propose(1, "accepted again").Accepted);
    }

    [Fact]
    public void A_transfer_to_an_up_to_date_target_completes_in_one_round()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Propose(1, "x");
        var term = c[1].Term;
        c[2].TransferLeadership(3); // a follower forwards the request
        c.Stabilize();
        Assert.Equal(RaftState.Leader, c[3].State);
        Assert.Equal(term + 1, c[3].Term);
        Assert.Equal(RaftState.Follower, c[1].State);
    }

    [Fact]
    public void A_transfer_target_that_lags_is_caught_up_first()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Isolate(3);
        for (var i = 0; i < 5; i++) c.Propose(1, $"w{i}");
        c.Heal();
        c[1].TransferLeadership(3);
        c.Stabilize();
        Assert.Equal(RaftState.Leader, c[3].State);
        Assert.Equal(5, c.Hosts[3].StateMachine.Count);
    }

    [Fact]
    public void A_member_restarted_from_its_storage_resumes_where_it_was()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Propose(1, "a");
        c.Hosts[2].Crash();
        c.Propose(1, "b");
        c.Hosts[2].Start();
        c.TickAll(3);
        Assert.Equal(["a", "b"], c.Hosts[2].StateMachine.Select(e => System.Text.Encoding.UTF8.GetString(e.Data.Span)));
    }
}
