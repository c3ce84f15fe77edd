using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Paper;

/// <summary>Raft paper section 5.2: leader election (plain Raft: no pre-vote, no check-quorum).</summary>
public class Section5_2_LeaderElectionTests
{
    private static RaftConfig PlainRaft(RaftConfig c) => c with { PreVote = false, CheckQuorum = false };

    [Fact]
    public void A_follower_that_hears_nothing_becomes_candidate_in_a_new_term_and_asks_every_voter()
    {
        var n = new NodeHarness(1, voters: 3, term: 1, configure: PlainRaft);
        var sent = n.Tick(20);
        Assert.Equal(RaftState.Candidate, n.Node.State);
        Assert.Equal(2UL, n.Node.Term);
        var requests = sent.Where(m => m.Type == MessageType.Vote).ToList();
        Assert.Equal([2UL, 3UL], requests.Select(m => m.To).Order());
        Assert.All(requests, m => Assert.Equal((2UL, 3UL, 1UL), (m.Term, m.Index, m.LogTerm)));
        // It voted for itself, durably, before the requests could leave.
        Assert.Equal(new HardState(2, 1, 3), n.Storage.HardState);
    }

    [Theory]
    [InlineData(1, 0, 0, RaftState.Leader)]
    [InlineData(3, 1, 0, RaftState.Leader)]
    [InlineData(3, 0, 1, RaftState.Candidate)]
    [InlineData(3, 0, 2, RaftState.Follower)]
    [InlineData(5, 2, 0, RaftState.Leader)]
    [InlineData(5, 1, 2, RaftState.Candidate)]
    [InlineData(5, 1, 3, RaftState.Follower)]
    [InlineData(7, 3, 3, RaftState.Leader)]
    public void A_candidate_wins_with_a_majority_and_gives_up_on_a_majority_of_rejections(int voters, int granted, int rejected, RaftState expected)
    {
        var n = new NodeHarness(1, voters, configure: PlainRaft);
        n.Tick(20);
        var term = n.Node.Term;
        ulong from = 2;
        for (var i = 0; i < granted; i++) n.Step(new Message { Type = MessageType.VoteResponse, From = from++, To = 1, Term = term });
        for (var i = 0; i < rejected; i++) n.Step(new Message { Type = MessageType.VoteResponse, From = from++, To = 1, Term = term, Reject = true });
        Assert.Equal(expected, n.Node.State);
    }

    [Theory]
    [InlineData(0UL, 2UL, true)]
    [InlineData(2UL, 2UL, true)]
    [InlineData(3UL, 2UL, false)]
    public void A_voter_grants_at_most_one_vote_per_term(ulong votedFor, ulong candidate, bool granted)
    {
        var n = new NodeHarness(1, voters: 3, term: 5, vote: votedFor, configure: PlainRaft);
        var answer = Assert.Single(n.Step(new Message { Type = MessageType.Vote, From = candidate, To = 1, Term = 5, Index = 3, LogTerm = 1 }));
        Assert.Equal(MessageType.VoteResponse, answer.Type);
        Assert.Equal(!granted, answer.Reject);
        Assert.Equal(granted ? candidate : votedFor, n.Storage.HardState.Vote);
    }

    [Fact]
    public void A_candidate_that_hears_from_a_leader_of_its_term_returns_to_follower()
    {
        var n = new NodeHarness(1, voters: 3, configure: PlainRaft);
        n.Tick(20);
        var term = n.Node.Term;
        n.Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = term - 1, Index = 3, LogTerm = 1 });
        Assert.Equal(RaftState.Candidate, n.Node.State); // a stale leader is ignored
        n.Step(new Message { Type = MessageType.Append, From = 2, To = 1, Term = term, Index = 3, LogTerm = 1 });
        Assert.Equal(RaftState.Follower, n.Node.State);
        Assert.Equal(2UL, n.Node.Leader);
    }

    [Fact]
    public void Election_timeouts_are_randomized_within_one_to_two_election_timeouts()
    {
        var timeouts = new HashSet<int>();
        for (ulong seed = 1; seed <= 40; seed++)
        {
            var n = new NodeHarness(1, voters: 3, configure: c => PlainRaft(c) with { Random = new SeededRandomSource(seed) });
            var ticks = 0;
            while (n.Node.State == RaftState.Follower)
            {
                n.Tick();
                ticks++;
            }
            Assert.InRange(ticks, 10, 19);
            timeouts.Add(ticks);
        }
        Assert.True(timeouts.Count >= 5, $"only {timeouts.Count} distinct timeouts");
    }

    [Fact]
    public void A_three_node_cluster_elects_exactly_one_leader_by_timeouts()
    {
        var c = new TestCluster(3);
        var leader = c.TickUntilLeader();
        Assert.Single(c.Hosts.Values, h => h.Raft.State == RaftState.Leader);
        Assert.All(c.Hosts.Values, h => Assert.Equal(leader.Id, h.Raft.Leader));
    }
}
