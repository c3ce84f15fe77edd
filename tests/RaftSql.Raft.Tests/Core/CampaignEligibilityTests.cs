using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Core;

/// <summary>Who may campaign: voters of the member's own (applied) membership; nobody else disturbs the voters.</summary>
public class CampaignEligibilityTests
{
    private static bool IsCampaign(Message m) => m.Type is MessageType.PreVote or MessageType.Vote;

    [Fact]
    public void A_removed_member_that_applied_its_removal_never_campaigns()
    {
        var c = new TestCluster(3);
        c.ElectLeader(1);
        c.TickAll(1);
        Assert.True(c[1].ProposeConfChange(ConfChange.Remove(3)).Accepted);
        c.Stabilize();
        Assert.False(c[3].Status.Membership.Contains(3)); // it knows it was removed
        c.Delivered.Clear();
        for (var t = 0; t < 100; t++)
        {
            c.TickAll(1);
            Assert.Equal(RaftState.Follower, c[3].State);
        }
        Assert.DoesNotContain(c.Delivered, m => m.From == 3 && IsCampaign(m));
        Assert.Equal(1UL, c.LeaderHost!.Id);
    }

    [Fact]
    public void A_joiner_that_has_not_applied_its_own_addition_does_not_campaign()
    {
        // One entry per message, so the joiner can hold the founding configuration without its own addition.
        var c = new TestCluster(3, cfg => cfg with { MaxBytesPerMessage = 1 });
        c.ElectLeader(1);
        c.TickAll(1);
        c.AddJoiningHost(4);
        var add = c[1].ProposeConfChange(ConfChange.AddOrUpdate(new Member(4, MemberRole.Voter, "node4")));
        Assert.True(add.Accepted);
        c.Drop = m => m.To == 4 && m.Type == MessageType.Append && m.Entries.Any(e => e.Index >= add.Index);
        c.Stabilize();
        c.TickAll(2);
        var joiner = c[4].Status;
        Assert.True(joiner.Membership.Voters.Count > 0);
        Assert.False(joiner.Membership.Contains(4));

        // The leader falls silent towards the joiner: it times out, but it is not a voter in what it applied.
        c.Drop = m => m.To == 4;
        c.Delivered.Clear();
        for (var t = 0; t < 100; t++)
        {
            c.TickAll(1);
            Assert.Equal(RaftState.Follower, c[4].State);
        }
        Assert.DoesNotContain(c.Delivered, m => m.From == 4 && IsCampaign(m));
    }

    [Fact]
    public void A_demoted_voter_does_not_campaign_once_the_voters_know_the_change()
    {
        var c = new TestCluster(3, cfg => cfg with { AutoPromote = false });
        c.ElectLeader(1);
        c.TickAll(1);
        Assert.True(c[1].ProposeConfChange(ConfChange.AddOrUpdate(new Member(3, MemberRole.Standby, "node3"))).Accepted);
        c.Stabilize();
        c.TickAll(2);
        Assert.False(c[3].Status.Membership.IsVoter(3));
        // The leader goes away: the remaining voter cannot win alone, and the standby must not campaign.
        c.Hosts[1].Crash();
        c.Delivered.Clear();
        for (var t = 0; t < 100; t++)
        {
            c.TickAll(1);
            Assert.NotEqual(RaftState.Leader, c[3].State);
            Assert.NotEqual(RaftState.Candidate, c[3].State);
            Assert.NotEqual(RaftState.PreCandidate, c[3].State);
        }
        Assert.DoesNotContain(c.Delivered, m => m.From == 3 && IsCampaign(m));
    }
}
