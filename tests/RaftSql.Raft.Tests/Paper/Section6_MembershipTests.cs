using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Paper;

/// <summary>Raft paper section 6 (thesis chapter 4): single-member changes, non-voting members, catch-up.</summary>
public class Section6_MembershipTests
{
    private static TestCluster ClusterWithLeader(int voters, bool autoPromote = false)
    {
        var c = new TestCluster(voters, cfg => cfg with { AutoPromote = autoPromote });
        c.ElectLeader(1);
        return c;
    }

    private static ProposeResult Change(TestCluster c, ConfChange change)
    {
        var result = c[1].ProposeConfChange(change);
        c.Stabilize();
        return result;
    }

    [Fact]
    public void A_standby_receives_the_log_but_does_not_count_for_commit()
    {
        var c = ClusterWithLeader(3);
        var standby = c.AddJoiningHost(4);
        Assert.True(Change(c, ConfChange.AddOrUpdate(new Member(4, MemberRole.Standby, "node4"))).Accepted);
        c.Propose(1, "before");
        Assert.Contains(standby.StateMachine, e => e.Data.Span.SequenceEqual("before"u8));
        Assert.Equal(c[1].Status.Membership.ToString(), standby.Raft.Status.Membership.ToString());

        c.Isolate(2);
        c.Cut(1, 3);
        var result = c.Propose(1, "after");
        Assert.Equal(result.Index, standby.Raft.Status.LastIndex); // the standby stored it...
        Assert.True(c[1].Status.Commit < result.Index);          // ...but only voters make a quorum
    }

    [Fact]
    public void A_caught_up_standby_is_promoted_after_a_full_election_timeout()
    {
        var c = ClusterWithLeader(3, autoPromote: true);
        c.AddJoiningHost(4);
        Change(c, ConfChange.AddOrUpdate(new Member(4, MemberRole.Standby, "node4")));
        Assert.Equal(MemberRole.Standby, c[1].Status.Membership.Find(4)!.Role);
        c.TickAll(5);
        Assert.Equal(MemberRole.Standby, c[1].Status.Membership.Find(4)!.Role); // not yet a full round
        c.TickAll(20);
        Assert.Equal(MemberRole.Voter, c[1].Status.Membership.Find(4)!.Role);
        Assert.All(c.Hosts.Values, h => Assert.True(h.Raft.Status.Membership.IsVoter(4)));
    }

    [Fact]
    public void A_lagging_standby_is_not_promoted()
    {
        var c = new TestCluster(3, cfg => cfg with { PromotionLag = 2 });
        c.ElectLeader(1);
        c.AddJoiningHost(4);
        Change(c, ConfChange.AddOrUpdate(new Member(4, MemberRole.Standby, "node4")));
        c.Isolate(4);
        for (var i = 0; i < 5; i++) c.Propose(1, $"w{i}");
        c.TickAll(40);
        Assert.Equal(MemberRole.Standby, c[1].Status.Membership.Find(4)!.Role);
    }

    [Fact]
    public void One_change_at_a_time()
    {
        var c = ClusterWithLeader(3);
        c.Drop = m => m.Type == MessageType.Append;
        Assert.True(c[1].ProposeConfChange(ConfChange.AddOrUpdate(new Member(4, MemberRole.Standby, "n4"))).Accepted);
        Assert.Equal(ProposeStatus.ConfChangeNotReady, c[1].ProposeConfChange(ConfChange.AddOrUpdate(new Member(5, MemberRole.Standby, "n5"))).Status);
        c.Drop = null;
        c.TickAll(2);
        Assert.True(c[1].ProposeConfChange(ConfChange.AddOrUpdate(new Member(5, MemberRole.Standby, "n5"))).Accepted);
    }

    [Fact]
    public void A_new_leader_changes_membership_only_after_committing_an_entry_of_its_term()
    {
        var c = new TestCluster(3);
        c.Drop = m => m.Type == MessageType.Append;
        c.ElectLeader(1);
        Assert.Equal(ProposeStatus.ConfChangeNotReady, c[1].ProposeConfChange(ConfChange.Remove(3)).Status);
        c.Drop = null;
        c.TickAll(2);
        Assert.True(c[1].ProposeConfChange(ConfChange.Remove(3)).Accepted);
    }

    [Theory]
    [InlineData(ConfChangeType.Remove, 9UL, MemberRole.Voter)]      // unknown member
    [InlineData(ConfChangeType.AddOrUpdate, 1UL, MemberRole.Spare)] // would leave no voter in a 1-node cluster
    public void Nonsensical_changes_are_refused(ConfChangeType type, ulong id, MemberRole role)
    {
        var c = new TestCluster(1);
        c.TickUntilLeader();
        var change = type == ConfChangeType.Remove ? ConfChange.Remove(id) : ConfChange.AddOrUpdate(new Member(id, role, "x"));
        Assert.Equal(ProposeStatus.InvalidConfChange, c[1].ProposeConfChange(change).Status);
    }

    [Fact]
    public void A_spare_receives_nothing()
    {
        var c = ClusterWithLeader(3);
        c.AddJoiningHost(4);
        Change(c, ConfChange.AddOrUpdate(new Member(4, MemberRole.Spare, "node4")));
        c.Propose(1, "x");
        c.TickAll(5);
        Assert.DoesNotContain(c.Delivered, m => m.To == 4);
        Assert.Equal(0UL, c.Hosts[4].AppliedIndex);
    }

    [Fact]
    public void Removing_a_voter_shrinks_the_quorum()
    {
        var c = ClusterWithLeader(4);
        c.Isolate(3);
        c.Isolate(4);
        var blocked = c.Propose(1, "needs three of four");
        Assert.True(c[1].Status.Commit < blocked.Index);
        c.Heal();
        c.TickAll(1);
        Change(c, ConfChange.Remove(4));
        c.Isolate(3);
        c.Isolate(4);
        var result = c.Propose(1, "two of three");
        Assert.Equal(result.Index, c[1].Status.Commit);
    }

    [Fact]
    public void Committed_membership_changes_reach_the_host_in_committed_entries()
    {
        var c = ClusterWithLeader(3);
        var result = Change(c, ConfChange.Remove(3));
        var entry = Assert.Single(c.Hosts[2].AppliedConfChanges, e => e.Index == result.Index);
        Assert.Equal(ConfChange.Remove(3), ConfChange.Decode(entry.Data.Span));
    }
}
