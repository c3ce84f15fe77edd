using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Paper;

/// <summary>Raft paper section 5.4: the election restriction and the commit rule for earlier terms.</summary>
public class Section5_4_SafetyTests
{
    // The voter's log: bootstrap entries 1..3 (term 1), then index 4 and 5 of term 2.
    [Theory]
    [InlineData(2UL, 5UL, true)]   // same last term and index
    [InlineData(2UL, 6UL, true)]   // same term, longer
    [InlineData(3UL, 4UL, true)]   // higher last term wins even if shorter
    [InlineData(2UL, 4UL, false)]  // same term, shorter
    [InlineData(1UL, 9UL, false)]  // lower last term loses even if longer
    public void Section5_4_1_a_vote_goes_only_to_a_candidate_whose_log_is_at_least_as_up_to_date(ulong lastTerm, ulong lastIndex, bool granted)
    {
        var n = new NodeHarness(1, voters: 3, term: 3, extraTerms: [2, 2], configure: c => c with { PreVote = false, CheckQuorum = false });
        var answer = Assert.Single(n.Step(new Message { Type = MessageType.Vote, From = 2, To = 1, Term = 4, Index = lastIndex, LogTerm = lastTerm }));
        Assert.Equal(!granted, answer.Reject);
    }

    [Fact]
    public void Section5_4_2_entries_of_earlier_terms_are_not_committed_by_counting_replicas()
    {
        // Figure 8: the new leader (term 4) has an entry of term 2 at index 4 that a majority stores.
        var c = new TestCluster(3, id => id == 3 ? [] : [2UL]);
        c.Drop = m => m.Type == MessageType.Append;
        c.ElectLeader(1);
        var leader = c[1];
        Assert.Equal(RaftState.Leader, leader.State);
        leader.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = leader.Term, Index = 4 });
        c.ProcessAll();
        Assert.Equal(3UL, leader.Status.Commit);
        // Once the leader's own no-op (index 5, term 4) is on a majority, both commit together.
        leader.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = leader.Term, Index = 5 });
        c.ProcessAll();
        Assert.Equal(5UL, leader.Status.Commit);
    }

    [Fact]
    public void Section5_4_3_a_new_leader_holds_every_committed_entry()
    {
        var c = new TestCluster(5);
        c.ElectLeader(1);
        c.Drop = m => m.To is 4 or 5;
        var committed = c.Propose(1, "committed");
        Assert.Equal(committed.Index, c[1].Status.Commit);
        c.Drop = null;
        c.Hosts[1].Crash();
        c.Campaign(4); // 4 lacks the entry: 2 and 3 refuse
        Assert.NotEqual(RaftState.Leader, c[4].State);
        c.Campaign(2);
        Assert.Equal(RaftState.Leader, c[2].State);
        Assert.True(c[2].Log.MatchTerm(committed.Index, committed.Term));
    }
}
