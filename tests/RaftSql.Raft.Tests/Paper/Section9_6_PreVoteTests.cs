using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Paper;

/// <summary>Raft thesis 9.6 (pre-vote) and 6.2/4.2.3 (check-quorum, leader stickiness).</summary>
public class Section9_6_PreVoteTests
{
    [Fact]
    public void An_isolated_follower_with_pre_vote_keeps_its_term_and_does_not_disrupt_on_rejoin()
    {
        var c = new TestCluster(3);
        var leader = c.TickUntilLeader();
        var term = leader.Raft.Term;
        var isolated = c.Hosts.Keys.First(id => id != leader.Id);
        c.Isolate(isolated);
        c.TickAll(100);
        Assert.Equal(term, c[isolated].Term);
        Assert.Equal(RaftState.PreCandidate, c[isolated].State);
        c.Heal();
        c.TickAll(30);
        Assert.Equal(RaftState.Leader, leader.Raft.State);
        Assert.Equal(term, leader.Raft.Term);
    }

    [Fact]
    public void Without_pre_vote_the_same_follower_raises_its_term_and_deposes_the_leader()
    {
        var c = new TestCluster(3, cfg => cfg with { PreVote = false, CheckQuorum = false });
        var leader = c.TickUntilLeader();
        var term = leader.Raft.Term;
        var isolated = c.Hosts.Keys.First(id => id != leader.Id);
        c.Isolate(isolated);
        c.TickAll(100);
        Assert.True(c[isolated].Term > term + 2);
        c.Heal();
        c.TickAll(20); // its next vote request carries the higher term
        Assert.True(leader.Raft.Term > term);
    }

    [Fact]
    public void Granting_a_pre_vote_changes_neither_the_term_nor_the_vote()
    {
        var n = new NodeHarness(1, voters: 3, term: 4, vote: 3);
        n.Tick(25); // past the quiet period after start, no leader known
        var answer = Assert.Single(n.Step(new Message { Type = MessageType.PreVote, From = 2, To = 1, Term = 5, Index = 3, LogTerm = 1 }), m => m.Type == MessageType.PreVoteResponse);
        Assert.False(answer.Reject);
        Assert.Equal(5UL, answer.Term);
        Assert.Equal(new HardState(4, 3, 3), n.Storage.HardState with { Commit = 3 });
        Assert.Equal(4UL, n.Node.Term);
    }

    [Fact]
    public void A_pre_candidate_becomes_candidate_only_after_a_majority_of_pre_votes()
    {
        var n = new NodeHarness(1, voters: 3);
        var sent = n.Tick(25);
        Assert.Equal(RaftState.PreCandidate, n.Node.State);
        Assert.Equal(1UL, n.Node.Term);
        Assert.Equal(2, sent.Count(m => m.Type == MessageType.PreVote && m.Term == 2));
        n.Step(new Message { Type = MessageType.PreVoteResponse, From = 2, To = 1, Term = 2 });
        Assert.Equal(RaftState.Candidate, n.Node.State);
        Assert.Equal(2UL, n.Node.Term);
    }

    [Fact]
    public void Check_quorum_a_leader_that_hears_from_no_quorum_for_an_election_timeout_steps_down()
    {
        var c = new TestCluster(3);
        var leader = c.TickUntilLeader();
        c.Isolate(leader.Id);
        c.TickAll(9);
        Assert.Equal(RaftState.Leader, leader.Raft.State);
        c.TickAll(11);
        Assert.Equal(RaftState.Follower, leader.Raft.State);
    }

    [Fact]
    public void Leader_stickiness_a_follower_that_hears_from_its_leader_ignores_candidates()
    {
        var c = new TestCluster(3);
        var leader = c.TickUntilLeader();
        var follower = c.Hosts.Values.First(h => h != leader);
        var term = follower.Raft.Term;
        follower.Raft.Step(new Message { Type = MessageType.Vote, From = 3, To = follower.Id, Term = term + 1, Index = 100, LogTerm = term });
        Assert.Equal(term, follower.Raft.Term);
        Assert.False(follower.Raft.HasReady);
    }
}
