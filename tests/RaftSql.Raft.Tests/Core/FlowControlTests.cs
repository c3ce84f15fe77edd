using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Core;

/// <summary>Per-follower progress states (probe, replicate, snapshot) and the limits on what is in flight.</summary>
public class FlowControlTests
{
    private static int AppendsInFlightTo(TestCluster c, ulong to) =>
        c.Queued.Count(m => m.Type == MessageType.Append && m.To == to && m.Entries.Count > 0);

    [Fact]
    public void A_replicating_follower_gets_at_most_MaxInflightMessages_appends_until_it_answers()
    {
        var c = new TestCluster(3, cfg => cfg with { MaxInflightMessages = 3 });
        c.ElectLeader(1);
        Assert.Equal(ProgressState.Replicate, c[1].Status.Progress[2].State);
        for (var i = 0; i < 10; i++) c[1].Propose(new byte[] { (byte)i });
        c.ProcessAll();
        Assert.Equal(3, AppendsInFlightTo(c, 2));
        c.Stabilize();
        Assert.Equal(c[1].Status.LastIndex, c[2].Status.LastIndex);
    }

    [Fact]
    public void A_replicating_follower_gets_at_most_MaxInflightBytes_of_entries_until_it_answers()
    {
        var c = new TestCluster(3, cfg => cfg with { MaxInflightBytes = 1000, MaxBytesPerMessage = 400 });
        c.ElectLeader(1);
        Assert.Equal(ProgressState.Replicate, c[1].Status.Progress[2].State);
        for (var i = 0; i < 20; i++) c[1].Propose(new byte[300]);
        c.ProcessAll();
        // Each append carries one 300-byte entry: the window closes once 1000 bytes are in flight.
        Assert.Equal(4, AppendsInFlightTo(c, 2));
        c.Stabilize();
        Assert.Equal(c[1].Status.LastIndex, c[2].Status.LastIndex);
    }

    [Fact]
    public void An_append_carries_at_most_MaxBytesPerMessage_of_entries_but_always_one()
    {
        var c = new TestCluster(3, cfg => cfg with { MaxBytesPerMessage = 300 });
        c.ElectLeader(1);
        c.Isolate(2);
        for (var i = 0; i < 6; i++) c.Propose(1, new string('x', 100));
        c.Heal();
        c.TickAll(1);
        var catchUp = c.Delivered.Where(m => m.To == 2 && m.Type == MessageType.Append && m.Entries.Count > 0).ToList();
        Assert.True(catchUp.Count >= 3);
        Assert.All(catchUp, m => Assert.InRange(m.Entries.Sum(e => e.Data.Length + 24), 1, 300));
        Assert.Equal(c[1].Status.LastIndex, c[2].Status.LastIndex);
    }

    [Fact]
    public void A_single_entry_larger_than_a_message_is_refused_at_proposal()
    {
        var c = new TestCluster(1, cfg => cfg with { MaxBytesPerMessage = 100 });
        c.TickUntilLeader();
        Assert.Equal(ProposeStatus.Dropped, c[1].Propose(new byte[200]).Status);
    }

    [Fact]
    public void A_probing_follower_gets_one_append_at_a_time()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Isolate(3);
        c.Propose(1, "a");
        c[1].ReportUnreachable(3);
        Assert.Equal(ProgressState.Probe, c[1].Status.Progress[3].State);
        c.ClearQueue();
        for (var i = 0; i < 5; i++) c[1].Propose(new byte[] { (byte)i });
        c.ProcessAll();
        Assert.Equal(1, AppendsInFlightTo(c, 3));
    }

    [Fact]
    public void The_uncommitted_byte_limit_drops_proposals_until_entries_commit()
    {
        var c = new TestCluster(3, cfg => cfg with { MaxUncommittedBytes = 500 });
        c.ElectLeader(1);
        c.Isolate(1);
        var results = Enumerable.Range(0, 10).Select(_ => c[1].Propose(new byte[100]).Status).ToList();
        Assert.Contains(ProposeStatus.Dropped, results);
        Assert.Equal(ProposeStatus.Accepted, results[0]);
        c.Heal();
        c.TickAll(2);
        Assert.Equal(ProposeStatus.Accepted, c[1].Propose(new byte[100]).Status);
    }

    [Fact]
    public void A_follower_behind_the_compaction_point_moves_to_the_snapshot_state_until_reported()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.Isolate(3);
        for (var i = 0; i < 3; i++) c.Propose(1, $"w{i}");
        c.Hosts[1].Compact();
        c.Drop = m => m.Type == MessageType.Snapshot; // the host fails to stream it
        c.Heal();
        c.TickAll(1);
        Assert.Equal(ProgressState.Probe, c[1].Status.Progress[3].State); // the failure report resets it
        c.Drop = null;
        c[1].ReportUnreachable(3);
        c.TickAll(2);
        Assert.Equal(ProgressState.Replicate, c[1].Status.Progress[3].State);
        Assert.Equal(c[1].Status.LastIndex, c[3].Status.LastIndex);
    }

    [Fact]
    public void Status_reports_the_leaders_view_of_every_follower()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        var status = c[1].Status;
        Assert.Equal(RaftState.Leader, status.State);
        Assert.Equal([1UL, 2UL, 3UL], status.Progress.Keys.Order());
        Assert.All(status.Progress.Values, p => Assert.Equal(status.LastIndex, p.Match));
        Assert.Empty(c[2].Status.Progress);
    }
}
