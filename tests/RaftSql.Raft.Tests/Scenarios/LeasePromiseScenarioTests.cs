using RaftSql.Raft.Tests.Support;

namespace RaftSql.Raft.Tests.Scenarios;

/// <summary>
/// A follower that acknowledged a leader's heartbeat promises not to vote for ElectionTicks: the leader's
/// lease rests on it. These scenarios play out the delivery orders that once made a follower forget it.
/// </summary>
public class LeasePromiseScenarioTests
{
    /// <summary>Each node's randomized election timeout is ElectionTicks plus a fixed offset.</summary>
    private sealed class FixedJitter(int offset) : IRandomSource
    {
        public int Next(int maxExclusive) => Math.Min(offset, maxExclusive - 1);
    }

    private static TestCluster Cluster() =>
        new(3, cfg => cfg with { Random = new FixedJitter(cfg.Id switch { 1 => 9, 2 => 5, _ => 0 }) });

    [Fact]
    public void A_rejected_pre_vote_from_a_higher_term_does_not_release_a_follower_from_its_lease_promise()
    {
        // Leader 1 (term 2), follower 2 (F), node 3 (X). Time advances for everyone alike (TickAll).
        var c = Cluster();
        c.ElectLeader(1);
        c.TickAll(1);
        var term = c[1].Term;
        Assert.True(c[1].LeaseValid);

        // 1 is cut off. Votes from 3 to 2 are held back (delayed), as are 3's answers to 2's pre-votes.
        var held = new List<Message>();
        c.Drop = m =>
        {
            if (m.From != 3 || m.To != 2 || m.Type is not (MessageType.Vote or MessageType.PreVoteResponse)) return false;
            held.Add(m);
            return true;
        };
        c.Isolate(1);
        // 3 times out first: 2 has not heard from 1 for ElectionTicks, so it grants the pre-vote; 3 becomes
        // a candidate in term+1 and its vote request to 2 is delayed.
        TickUntil(c, () => c[3].State == RaftState.Candidate);
        Assert.Equal(term + 1, c[3].Term);
        // 2 times out and pre-votes; 3 (a candidate of term+1) rejects it in term+1: the answer is delayed too.
        TickUntil(c, () => c[2].State == RaftState.PreCandidate);
        c.Stabilize();
        Assert.Contains(held, m => m.Type == MessageType.PreVoteResponse && m.Reject && m.Term == term + 1);

        // 2 hears from leader 1 again (still leading: check-quorum saw 2 and 3 in its last window) and answers
        // a heartbeat round: 1 holds a lease confirmed by {1, 2}, so 2 promised not to vote for ElectionTicks.
        c.Restore(1, 2);
        c.TickAll(1);
        Assert.Equal(RaftState.Leader, c[1].State);
        Assert.Equal(RaftState.Follower, c[2].State);
        Assert.Equal(1UL, c[2].Leader);
        Assert.True(c[1].LeaseValid);

        // The delayed messages arrive: first the rejected pre-vote of term+1 (2 moves to term+1, leaderless),
        // then 3's vote request of term+1.
        c.Drop = null;
        foreach (var m in held.Where(m => m.Type == MessageType.PreVoteResponse)) c.Deliver(m);
        Assert.Equal(term + 1, c[2].Term);
        foreach (var m in held.Where(m => m.Type == MessageType.Vote)) c.Deliver(m);

        // Lease safety: while 1 holds its lease, no other leader may have acknowledged a write.
        if (c[3].State == RaftState.Leader)
        {
            var write = c.Propose(3, "newer");
            Assert.True(write.Accepted);
            Assert.False(c[1].LeaseValid && c[3].Status.Commit >= write.Index,
                $"node 1 holds a lease at commit {c[1].Status.Commit} while node 3 (term {c[3].Term}) committed {write.Index}");
        }
        Assert.NotEqual(RaftState.Leader, c[3].State); // 2 kept its promise
        // The promise runs out with the lease: then 3 (or 2) is elected as usual.
        for (var t = 0; t < 40 && c.LeaderHost?.Id is null or 1; t++)
        {
            c.TickAll(1);
            Assert.False(c[1].LeaseValid && c.Hosts.Values.Any(h => h.Id != 1 && h.Raft.State == RaftState.Leader && h.Raft.Status.Commit > c[1].Status.Commit));
        }
        Assert.NotEqual(1UL, c.LeaderHost?.Id);
    }

    [Fact]
    public void A_leader_that_steps_down_inside_its_lease_grants_no_vote_until_the_lease_is_over()
    {
        var c = Cluster();
        c.ElectLeader(1);
        c.TickAll(c.ConfigFor(1).ElectionTicks * 2); // well past the last time 1 heard from a leader itself
        Assert.Equal(RaftState.Leader, c[1].State);
        Assert.True(c[1].LeaseValid);
        var term = c[1].Term;
        var last = c[3].Status.LastIndex;
        var lastTerm = c[3].Term;

        // A stale answer of a higher term (from a candidate that ran while cut off) makes 1 step down at once,
        // inside the lease that 1 and 2 confirmed. Then 3's vote request of that term arrives with a log as long
        // as anyone's: 2 refuses it (its promise), and 1 must too, or {1, 3} elect a leader within 1's lease.
        c.Deliver(new Message { Type = MessageType.AppendResponse, From = 3, To = 1, Term = term + 1, Index = last, Reject = true, RejectHint = last });
        Assert.Equal(RaftState.Follower, c[1].State);
        c.Deliver(new Message { Type = MessageType.Vote, From = 3, To = 1, Term = term + 1, Index = last, LogTerm = lastTerm });
        var answer = c.Delivered.LastOrDefault(m => m.Type == MessageType.VoteResponse && m.From == 1 && m.To == 3);
        Assert.NotNull(answer);
        Assert.True(answer.Reject, $"node 1 granted a vote right after leaving its lease: {answer}");
    }

    [Fact]
    public void After_a_check_quorum_step_down_the_ex_leader_promise_delays_an_election_by_at_most_its_own_timer()
    {
        // The promise above is what lease safety needs when a leader steps down inside its lease. A check-quorum
        // step-down comes after its lease ran out, so there the promise only costs time: 1 loses 2 (3 is down),
        // steps down, and the link heals at once. 2's pre-votes are refused for ElectionTicks, but 1's own
        // election timer (at least ElectionTicks) runs meanwhile, so a leader follows within two timeouts.
        var c = Cluster();
        c.ElectLeader(1);
        var electionTicks = c.ConfigFor(1).ElectionTicks;
        c.Hosts[3].Crash();
        c.Cut(1, 2);
        TickUntil(c, () => c[1].State != RaftState.Leader, 4 * electionTicks);
        Assert.False(c[1].LeaseValid);
        c.Restore(1, 2);
        var ticks = 0;
        for (; ticks < 10 * electionTicks && c.LeaderHost is null; ticks++)
            c.TickAll(1);
        Assert.NotNull(c.LeaderHost);
        Assert.True(ticks <= 2 * electionTicks, $"a leader after {ticks} ticks (election timeout {electionTicks})");
    }

    private static void TickUntil(TestCluster c, Func<bool> condition, int maxTicks = 100)
    {
        for (var i = 0; i < maxTicks && !condition(); i++) c.TickAll(1);
        Assert.True(condition(), "the expected state was not reached");
    }
}
