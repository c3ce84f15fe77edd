using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Core;

/// <summary>What the host may and must do between GetReady and Advance.</summary>
public class ReadyContractTests
{
    [Fact]
    public void Messages_promise_only_what_the_same_Ready_asks_to_persist()
    {
        var n = new NodeHarness(2, voters: 3, term: 2);
        n.Node.Step(new Message
        {
            Type = MessageType.Append, From = 1, To = 2, Term = 2, Index = 3, LogTerm = 1,
            Entries = [new Entry(2, 4, EntryType.Normal, new byte[] { 1 })],
        });
        var ready = n.Node.GetReady();
        Assert.Equal(4UL, Assert.Single(ready.Entries).Index);
        Assert.Equal(4UL, Assert.Single(ready.Messages).Index);
        n.Storage.Append(ready.Entries);
        n.Node.Advance(ready);
        Assert.False(n.Node.HasReady);
    }

    [Fact]
    public void A_snapshot_accepted_between_GetReady_and_Advance_wins_over_older_committed_entries()
    {
        var c = new TestCluster(3, cfg => cfg with { AutoPromote = false });
        c.ElectLeader(1);
        var follower = c[3];
        var add = c[1].ProposeConfChange(ConfChange.AddOrUpdate(new Member(4, MemberRole.Standby, "n4")));
        // Member 3 stores the change but never hears that it committed.
        c.Drop = m => m.To == 3 && (m.Commit >= add.Index || m.Entries.Any(e => e.Index > add.Index));
        c.Stabilize();
        c[1].ProposeConfChange(ConfChange.Remove(4));
        c.Stabilize();
        c.Hosts[1].Compact();
        var snapshot = c.Hosts[1].Storage.Snapshot();
        Assert.False(snapshot.Membership.Contains(4));

        // Member 3 learns the older commit, takes its Ready, and only then accepts the snapshot.
        follower.Step(new Message { Type = MessageType.Heartbeat, From = 1, To = 3, Term = c[1].Term, Commit = add.Index });
        var ready = follower.GetReady();
        Assert.Contains(ready.CommittedEntries, e => e.Type == EntryType.ConfChange && e.Index == add.Index);
        follower.Step(new Message { Type = MessageType.Snapshot, From = 1, To = 3, Term = c[1].Term, Snapshot = snapshot });
        follower.Advance(ready);
        Assert.False(follower.Status.Membership.Contains(4)); // the add is not applied on top of the newer snapshot
        var next = follower.GetReady();
        Assert.Equal(snapshot, next.Snapshot);
        follower.Advance(next);
        Assert.Equal(snapshot.Index, follower.Status.Applied);
    }
}
